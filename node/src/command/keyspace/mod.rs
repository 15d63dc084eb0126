//! Commands on keys whatever their type: RENAME, RENAMENX, COPY, TOUCH, RANDOMKEY, OBJECT, and
//! DUMP / RESTORE in Redis 7's serialization format (so migration tools move values in and out).
//! DEL, EXISTS, TYPE, the expiry commands, KEYS and SCAN sit beside the string commands.

mod copy;
mod dump;
mod object;
mod randomkey;
mod rename;
mod restore;
mod touch;

use crate::command::read::reads;
use crate::command::table::{R, RF, W};
use crate::command::write::writes;

reads! { KeyspaceRead {
    Touch(touch::Touch),
    RandomKey(randomkey::RandomKey),
    Object(object::ObjectInfo),
    Dump(dump::Dump),
} }

writes! { KeyspaceWrite {
    Rename(rename::Rename),
    Copy(copy::Copy),
    Restore(restore::Restore),
} }

crate::command::table::commands! { COMMANDS;
    "rename", 3, W, (1, 2, 1), "generic", "1.0.0", Write(rename::rename),
        "Renames a key and overwrites the destination.";
    "renamenx", 3, crate::command::table::WF, (1, 2, 1), "generic", "1.0.0", Write(rename::renamenx),
        "Renames a key only when the target key name doesn't exist.";
    "copy", -3, W, (1, 2, 1), "generic", "6.2.0", Write(copy::parse),
        "Copies the value of a key to a new key.";
    "restore", -4, W, (1, 1, 1), "generic", "2.6.0", Write(restore::parse),
        "Creates a key from the serialized representation of a value.";
    "touch", -2, RF, (1, -1, 1), "generic", "3.2.1", Read(touch::parse),
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.";
    "randomkey", 1, R, (0, 0, 0), "generic", "1.0.0", Read(randomkey::parse),
        "Returns a random key name from the database.";
    "object", -2, R, (2, 2, 1), "generic", "2.2.3", Read(object::parse),
        "A container for object introspection commands.";
    "dump", 2, R, (1, 1, 1), "generic", "2.6.0", Read(dump::parse),
        "Returns a serialized representation of the value stored at a key.";
}

//! The set commands. (Family skeleton: each command gets its own file here, a variant in the
//! enums below and an entry in [`COMMANDS`].)

use crate::command::read::reads;
use crate::command::write::writes;

reads! { SetRead {} }

writes! { SetWrite {} }

crate::command::table::commands! { COMMANDS; }

impl SetWrite {
    /// See [`crate::command::Write::resolve`]: SPOP decides its members here.
    pub fn resolve(self, _keyspace: &crate::store::Keyspace, _now_ms: u64) -> SetWrite {
        self
    }
}

//! The hash commands. (Family skeleton: each command gets its own file here, a variant in the
//! enums below and an entry in [`COMMANDS`].)

use crate::command::read::reads;
use crate::command::write::writes;

reads! { HashRead {} }

writes! { HashWrite {} }

crate::command::table::commands! { COMMANDS; }

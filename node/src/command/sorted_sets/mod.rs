//! The sorted-set commands. (Family skeleton: each command gets its own file here, a variant in the
//! enums below and an entry in [`COMMANDS`].)

use crate::command::read::reads;
use crate::command::write::writes;

reads! { ZSetRead {} }

writes! { ZSetWrite {} }

crate::command::table::commands! { COMMANDS; }

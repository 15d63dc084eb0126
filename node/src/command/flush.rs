//! FLUSHALL [ASYNC | SYNC], FLUSHDB [ASYNC | SYNC]: the executor empties what this process
//! serves (in cluster mode, the partitions this member leads, as Redis Cluster flushes a node's
//! slots).

use bytes::Bytes;

use super::CommandError;

/// Checks the optional mode argument.
pub fn check(args: &[Bytes]) -> Result<(), CommandError> {
    match args.get(1) {
        None => Ok(()),
        Some(mode)
            if args.len() == 2
                && (mode.eq_ignore_ascii_case(b"ASYNC") || mode.eq_ignore_ascii_case(b"SYNC")) =>
        {
            Ok(())
        }
        Some(_) => Err(CommandError::Syntax),
    }
}

//! PFADD key [element [element ...]]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{BitsWrite, hll_error, owned_string};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::{Db, Entry, hll};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PfAdd {
    key: Bytes,
    elements: Vec<Bytes>,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Bits(BitsWrite::PfAdd(PfAdd {
        key: args[1].clone(),
        elements: args[2..].to_vec(),
    })))
}

impl PfAdd {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// 1 when a register changed or the key was created (even without elements), else 0. The
    /// value keeps its TTL; on an error nothing changes.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let store = db.store(&self.key);
        let elements: Vec<&[u8]> = self.elements.iter().map(|element| &element[..]).collect();
        let (value, expire_at_ms, changed) = match owned_string(store, &self.key, now)? {
            Some((mut value, expire_at_ms)) => {
                let changed = hll::add(&mut value, &elements).map_err(hll_error)?;
                (value, expire_at_ms, changed)
            }
            None => {
                let mut value = hll::new_hll();
                hll::add(&mut value, &elements).map_err(hll_error)?;
                hll::invalidate_cache(&mut value);
                (value, 0, true)
            }
        };
        if changed {
            store.put(Entry::new(&self.key, &value, expire_at_ms, now), now);
        }
        Ok(Frame::Integer(i64::from(changed)))
    }
}

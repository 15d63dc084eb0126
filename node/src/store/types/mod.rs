//! The value types besides strings: hashes, lists, sets and sorted sets, as [`Object`]s held by
//! an entry. Each keeps a running byte count so its memory estimate is O(1), and each is a pure
//! data structure: commands (in `crate::command`) decide what to do with it.
//!
//! Iteration orders are deterministic functions of the operations applied (fixed-seed hashing),
//! but replicas may still differ after a snapshot restore rebuilt a table; so commands whose effect
//! depends on an order or a random choice (SPOP, eviction) are replicated as their effects.

mod hash;
mod list;
mod set;

use std::hash::BuildHasher;
use std::sync::LazyLock;

pub use super::zset::SortedSet;
pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;

/// The type of a key's value, as `TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    List,
    Set,
    Hash,
    ZSet,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::Hash => "hash",
            Kind::ZSet => "zset",
        }
    }
}

/// A command met a key holding another type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
pub struct WrongType;

/// A collection value.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Hash(HashValue),
    List(ListValue),
    Set(SetValue),
    ZSet(SortedSet),
}

impl Object {
    pub fn kind(&self) -> Kind {
        match self {
            Object::Hash(_) => Kind::Hash,
            Object::List(_) => Kind::List,
            Object::Set(_) => Kind::Set,
            Object::ZSet(_) => Kind::ZSet,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Object::Hash(value) => value.len(),
            Object::List(value) => value.len(),
            Object::Set(value) => value.len(),
            Object::ZSet(value) => value.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Deterministic memory estimate (the same on every replica).
    pub fn estimated_size(&self) -> u64 {
        match self {
            Object::Hash(value) => value.estimated_size(),
            Object::List(value) => value.estimated_size(),
            Object::Set(value) => value.estimated_size(),
            Object::ZSet(value) => value.estimated_size(),
        }
    }
}

/// A collection type commands work on through [`super::Store::read`] and
/// [`super::Store::update`].
pub trait ValueType: Sized {
    const KIND: Kind;
    fn empty() -> Object;
    fn cast(object: &Object) -> Option<&Self>;
    fn cast_mut(object: &mut Object) -> Option<&mut Self>;
}

macro_rules! value_type {
    ($type:ty, $variant:ident, $kind:ident) => {
        impl ValueType for $type {
            const KIND: Kind = Kind::$kind;

            fn empty() -> Object {
                Object::$variant(<$type>::default())
            }

            fn cast(object: &Object) -> Option<&Self> {
                match object {
                    Object::$variant(value) => Some(value),
                    _ => None,
                }
            }

            fn cast_mut(object: &mut Object) -> Option<&mut Self> {
                match object {
                    Object::$variant(value) => Some(value),
                    _ => None,
                }
            }
        }
    };
}

value_type!(HashValue, Hash, Hash);
value_type!(ListValue, List, List);
value_type!(SetValue, Set, Set);
value_type!(SortedSet, ZSet, ZSet);

/// The fixed-seed hasher of every collection (see the module comment).
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedHasher;

impl BuildHasher for FixedHasher {
    type Hasher = <foldhash::fast::FixedState as BuildHasher>::Hasher;

    fn build_hasher(&self) -> Self::Hasher {
        static STATE: LazyLock<foldhash::fast::FixedState> =
            LazyLock::new(|| foldhash::fast::FixedState::with_seed(0x636f_6c6c_6563_7469));
        STATE.build_hasher()
    }
}

/// Bytes an element costs beyond its own length in the estimate: its slot in the table or
/// deque and its allocation's header and rounding.
pub const ELEMENT_OVERHEAD: u64 = 32;

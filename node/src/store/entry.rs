//! One stored key and its value: a string in a single heap allocation, or a collection.

use super::types::{Kind, Object, WrongType};

/// Header layout: absolute expiry in unix milliseconds (8 bytes, 0 = no expiry), last access time
/// for approximate LRU (4 bytes, low 32 bits of unix milliseconds), key length (4 bytes).
const HEADER: usize = 16;

/// Fixed per-entry overhead counted by the deterministic memory estimate, on top of key and value
/// lengths: the 16-byte header, the 16-byte slot in the dense entry vector, the hash index slot and
/// allocator rounding. It is an estimate, chosen to track the real footprint closely (see
/// docs/benchmarks.md), but it never depends on the allocator, so every replica computes the same.
pub const ENTRY_OVERHEAD: u64 = 56;

/// A key and its value with its expiry and access time. A string is stored as one boxed byte
/// slice (header, key, value: one allocation plus a 16-byte pointer); any other type as a boxed
/// [`ObjectEntry`]. Both fit the same 16 bytes.
#[derive(Clone, PartialEq)]
pub struct Entry(Repr);

#[derive(Clone, PartialEq)]
enum Repr {
    String(Box<[u8]>),
    Object(Box<ObjectEntry>),
}

/// A key whose value is a collection.
#[derive(Clone, PartialEq)]
pub struct ObjectEntry {
    expire_at_ms: u64,
    access_ms: u32,
    key: Box<[u8]>,
    object: Object,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Entry")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("kind", &self.kind())
            .field("expire_at_ms", &self.expire_at_ms())
            .finish()
    }
}

impl Entry {
    pub fn new(key: &[u8], value: &[u8], expire_at_ms: u64, access_ms: u64) -> Entry {
        Self::from_parts(key, &[value], expire_at_ms, access_ms)
    }

    /// Builds a string entry whose value is the concatenation of `value_parts` (used by APPEND).
    pub fn from_parts(
        key: &[u8],
        value_parts: &[&[u8]],
        expire_at_ms: u64,
        access_ms: u64,
    ) -> Entry {
        let value_len: usize = value_parts.iter().map(|part| part.len()).sum();
        let mut bytes = Vec::with_capacity(HEADER + key.len() + value_len);
        bytes.extend_from_slice(&expire_at_ms.to_le_bytes());
        bytes.extend_from_slice(&(access_ms as u32).to_le_bytes());
        bytes.extend_from_slice(&(key.len() as u32).to_le_bytes());
        bytes.extend_from_slice(key);
        for part in value_parts {
            bytes.extend_from_slice(part);
        }
        Entry(Repr::String(bytes.into_boxed_slice()))
    }

    /// An entry holding a collection.
    pub fn with_object(key: &[u8], object: Object, expire_at_ms: u64, access_ms: u64) -> Entry {
        Entry(Repr::Object(Box::new(ObjectEntry {
            expire_at_ms,
            access_ms: access_ms as u32,
            key: key.into(),
            object,
        })))
    }

    /// The same value and expiry under another key (RENAME, COPY).
    pub fn renamed(&self, key: &[u8]) -> Entry {
        match &self.0 {
            Repr::String(_) => {
                Entry::new(key, self.value(), self.expire_at_ms(), 0).with_access(self.access_ms())
            }
            Repr::Object(entry) => Entry(Repr::Object(Box::new(ObjectEntry {
                expire_at_ms: entry.expire_at_ms,
                access_ms: entry.access_ms,
                key: key.into(),
                object: entry.object.clone(),
            }))),
        }
    }

    fn with_access(mut self, access_ms: u32) -> Entry {
        self.touch(u64::from(access_ms));
        self
    }

    fn key_len(bytes: &[u8]) -> usize {
        let mut length = [0u8; 4];
        length.copy_from_slice(&bytes[12..16]);
        u32::from_le_bytes(length) as usize
    }

    pub fn key(&self) -> &[u8] {
        match &self.0 {
            Repr::String(bytes) => &bytes[HEADER..HEADER + Self::key_len(bytes)],
            Repr::Object(object) => &object.key,
        }
    }

    pub fn kind(&self) -> Kind {
        match &self.0 {
            Repr::String(_) => Kind::String,
            Repr::Object(entry) => entry.object.kind(),
        }
    }

    /// The value of a string; the empty slice for any other type (see [`Entry::string`]).
    pub fn value(&self) -> &[u8] {
        match &self.0 {
            Repr::String(bytes) => &bytes[HEADER + Self::key_len(bytes)..],
            Repr::Object(_) => &[],
        }
    }

    /// The value of a string, or [`WrongType`].
    pub fn string(&self) -> Result<&[u8], WrongType> {
        match &self.0 {
            Repr::String(_) => Ok(self.value()),
            Repr::Object(_) => Err(WrongType),
        }
    }

    pub fn object(&self) -> Option<&Object> {
        match &self.0 {
            Repr::String(_) => None,
            Repr::Object(entry) => Some(&entry.object),
        }
    }

    pub fn object_mut(&mut self) -> Option<&mut Object> {
        match &mut self.0 {
            Repr::String(_) => None,
            Repr::Object(entry) => Some(&mut entry.object),
        }
    }

    /// Absolute expiry in unix milliseconds; 0 means the key does not expire.
    pub fn expire_at_ms(&self) -> u64 {
        match &self.0 {
            Repr::String(bytes) => {
                let mut expiry = [0u8; 8];
                expiry.copy_from_slice(&bytes[0..8]);
                u64::from_le_bytes(expiry)
            }
            Repr::Object(entry) => entry.expire_at_ms,
        }
    }

    pub fn set_expire_at_ms(&mut self, expire_at_ms: u64) {
        match &mut self.0 {
            Repr::String(bytes) => bytes[0..8].copy_from_slice(&expire_at_ms.to_le_bytes()),
            Repr::Object(entry) => entry.expire_at_ms = expire_at_ms,
        }
    }

    pub fn has_expiry(&self) -> bool {
        self.expire_at_ms() != 0
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        let expiry = self.expire_at_ms();
        expiry != 0 && expiry <= now_ms
    }

    /// Low 32 bits of the unix-ms time of the last access (wraps every ~49 days; compared with
    /// wrapping arithmetic).
    pub fn access_ms(&self) -> u32 {
        match &self.0 {
            Repr::String(bytes) => {
                let mut access = [0u8; 4];
                access.copy_from_slice(&bytes[8..12]);
                u32::from_le_bytes(access)
            }
            Repr::Object(entry) => entry.access_ms,
        }
    }

    pub fn touch(&mut self, now_ms: u64) {
        match &mut self.0 {
            Repr::String(bytes) => bytes[8..12].copy_from_slice(&(now_ms as u32).to_le_bytes()),
            Repr::Object(entry) => entry.access_ms = now_ms as u32,
        }
    }

    /// Sets the raw access field (an LFU policy keeps a frequency there, see
    /// `crate::eviction::lfu_access`).
    pub fn set_access_field(&mut self, field: u32) {
        match &mut self.0 {
            Repr::String(bytes) => bytes[8..12].copy_from_slice(&field.to_le_bytes()),
            Repr::Object(entry) => entry.access_ms = field,
        }
    }

    /// Milliseconds since the last access.
    pub fn idle_ms(&self, now_ms: u64) -> u32 {
        (now_ms as u32).wrapping_sub(self.access_ms())
    }

    /// The deterministic memory estimate of this entry.
    pub fn estimated_size(&self) -> u64 {
        match &self.0 {
            Repr::String(_) => estimated_size(self.key().len(), self.value().len()),
            Repr::Object(entry) => {
                estimated_size(entry.key.len(), 0)
                    + OBJECT_ENTRY_OVERHEAD
                    + entry.object.estimated_size()
            }
        }
    }
}

/// What a collection's entry adds to [`ENTRY_OVERHEAD`]: the boxed [`ObjectEntry`] and its key's
/// own allocation.
const OBJECT_ENTRY_OVERHEAD: u64 = 64;

pub fn estimated_size(key_len: usize, value_len: usize) -> u64 {
    key_len as u64 + value_len as u64 + ENTRY_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let mut entry = Entry::new(b"key", b"value", 1234, 99);
        assert_eq!(entry.key(), b"key");
        assert_eq!(entry.value(), b"value");
        assert_eq!(entry.expire_at_ms(), 1234);
        assert!(entry.is_expired(1234));
        assert!(!entry.is_expired(1233));
        entry.set_expire_at_ms(0);
        assert!(!entry.is_expired(u64::MAX));
        entry.touch(150);
        assert_eq!(entry.idle_ms(200), 50);
        assert_eq!(entry.estimated_size(), 3 + 5 + ENTRY_OVERHEAD);
        let joined = Entry::from_parts(b"", &[b"ab", b"cd"], 0, 0);
        assert_eq!(joined.value(), b"abcd");
        assert_eq!(joined.key(), b"");
    }
}

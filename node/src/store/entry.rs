//! One stored key and its value in a single heap allocation.

/// Header layout: absolute expiry in unix milliseconds (8 bytes, 0 = no expiry), last access time
/// for approximate LRU (4 bytes, low 32 bits of unix milliseconds), key length (4 bytes).
const HEADER: usize = 16;

/// Fixed per-entry overhead counted by the deterministic memory estimate, on top of key and value
/// lengths: the 16-byte header, the 16-byte slot in the dense entry vector, the hash index slot and
/// allocator rounding. It is an estimate, chosen to track the real footprint closely (see
/// docs/benchmarks.md), but it never depends on the allocator, so every replica computes the same.
pub const ENTRY_OVERHEAD: u64 = 56;

/// A key/value pair with its expiry and access time, stored as one boxed byte slice so the
/// per-key overhead is one allocation plus a 16-byte fat pointer.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry(Box<[u8]>);

impl std::fmt::Debug for Entry {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Entry")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("value_len", &self.value().len())
            .field("expire_at_ms", &self.expire_at_ms())
            .finish()
    }
}

impl Entry {
    pub fn new(key: &[u8], value: &[u8], expire_at_ms: u64, access_ms: u64) -> Entry {
        Self::from_parts(key, &[value], expire_at_ms, access_ms)
    }

    /// Builds an entry whose value is the concatenation of `value_parts` (used by APPEND).
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
        Entry(bytes.into_boxed_slice())
    }

    fn key_len(&self) -> usize {
        let mut length = [0u8; 4];
        length.copy_from_slice(&self.0[12..16]);
        u32::from_le_bytes(length) as usize
    }

    pub fn key(&self) -> &[u8] {
        &self.0[HEADER..HEADER + self.key_len()]
    }

    pub fn value(&self) -> &[u8] {
        &self.0[HEADER + self.key_len()..]
    }

    /// Absolute expiry in unix milliseconds; 0 means the key does not expire.
    pub fn expire_at_ms(&self) -> u64 {
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&self.0[0..8]);
        u64::from_le_bytes(expiry)
    }

    pub fn set_expire_at_ms(&mut self, expire_at_ms: u64) {
        self.0[0..8].copy_from_slice(&expire_at_ms.to_le_bytes());
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
        let mut access = [0u8; 4];
        access.copy_from_slice(&self.0[8..12]);
        u32::from_le_bytes(access)
    }

    pub fn touch(&mut self, now_ms: u64) {
        self.0[8..12].copy_from_slice(&(now_ms as u32).to_le_bytes());
    }

    /// Milliseconds since the last access.
    pub fn idle_ms(&self, now_ms: u64) -> u32 {
        (now_ms as u32).wrapping_sub(self.access_ms())
    }

    /// The deterministic memory estimate of this entry.
    pub fn estimated_size(&self) -> u64 {
        estimated_size(self.key().len(), self.value().len())
    }
}

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

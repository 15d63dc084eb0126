//! Key → slot, exactly as Redis Cluster computes it, so that cluster-aware clients route a key to the
//! same slot that ringcache does and `CLUSTER KEYSLOT` agrees with them.

/// Number of hash slots, fixed by the Redis Cluster specification.
pub const SLOT_COUNT: u16 = 16384;

/// A hash slot, `0..SLOT_COUNT`.
pub type Slot = u16;

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection, no final xor.
/// This is the variant the Redis Cluster specification uses for key hashing.
pub fn crc16_xmodem(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The part of a key that is hashed: the content of the first `{…}` when it is non-empty, otherwise the
/// whole key. `{user1000}.following` and `{user1000}.followers` share the tag `user1000`; `{}foo` has
/// an empty tag and so hashes whole.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{')
        && let Some(close_offset) = key[open + 1..].iter().position(|&b| b == b'}')
        && close_offset > 0
    {
        return &key[open + 1..open + 1 + close_offset];
    }
    key
}

/// The slot a key belongs to.
pub fn key_slot(key: &[u8]) -> Slot {
    crc16_xmodem(hash_tag(key)) % SLOT_COUNT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_matches_the_xmodem_check_value() {
        // The standard check value of CRC-16/XMODEM over "123456789", also quoted by the Redis spec.
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
    }

    #[test]
    fn golden_slots_match_redis_cluster() {
        // Values printed by `redis-cli CLUSTER KEYSLOT` against Debian's redis-server 7.0.15 started
        // with `--cluster-enabled yes`.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"hello"), 866);
        assert_eq!(key_slot(b"{user1000}.following"), 3443);
        assert_eq!(key_slot(b"{}foo"), 9500);
        assert_eq!(key_slot(b"foo{bar}{zap}"), 5061);
        assert_eq!(key_slot(b"foo{{bar}}zap"), 4015);
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn hash_tags_group_keys() {
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        // An empty tag hashes the whole key.
        assert_eq!(hash_tag(b"{}foo"), b"{}foo");
        assert_ne!(key_slot(b"{}foo"), key_slot(b"foo"));
        // Only the first `{` counts, and the first `}` after it.
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        // An unclosed brace hashes the whole key.
        assert_eq!(hash_tag(b"foo{bar"), b"foo{bar");
    }
}

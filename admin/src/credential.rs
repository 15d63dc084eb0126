//! The per-cluster secret: how the operator derives it, and how a member checks a presented one.
//!
//! ```text
//!  operator key (chart Secret, mounted into the operator only)
//!        │ HMAC-SHA256("ringcache cluster secret v1" ‖ namespace ‖ name ‖ uid)
//!        ▼
//!  cluster secret (64 hex digits) ─► Secret <name>-cluster-secret ─► mounted into the members
//!        │                                                              │
//!        └─ operator: Authorization: Bearer … on admin calls ───────────┘ checks it (constant time)
//! ```
//!
//! Deriving instead of generating means the operator never reads a Secret: after a restart it
//! computes the same value again from its key and the CacheCluster's identity.

use ring::hmac;

/// Shortest cluster secret a member accepts (bytes of the file, after the trailing newline).
pub const MIN_SECRET_LEN: usize = 32;

/// The domain label of the derivation, so the key derives nothing else by accident.
const DERIVATION_LABEL: &[u8] = b"ringcache cluster secret v1";

/// The secret of the CacheCluster `namespace/name` with `uid`, derived from the operator's `key`:
/// 64 lowercase hex digits. A cluster deleted and created again under the same name gets a new one.
pub fn derive_cluster_secret(key: &[u8], namespace: &str, name: &str, uid: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut context = hmac::Context::with_key(&key);
    for part in [
        DERIVATION_LABEL,
        namespace.as_bytes(),
        name.as_bytes(),
        uid.as_bytes(),
    ] {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part);
    }
    hex(context.sign().as_ref())
}

/// Whether `presented` equals `secret`, in time that does not depend on where they differ.
pub fn secrets_match(secret: &[u8], presented: &[u8]) -> bool {
    // Comparing MACs of both under a fresh key: equal inputs give equal tags, and ring's verify is
    // constant time; the lengths leak nothing because the tags have a fixed length.
    let rng = ring::rand::SystemRandom::new();
    let Ok(key) = hmac::Key::generate(hmac::HMAC_SHA256, &rng) else {
        return false;
    };
    let tag = hmac::sign(&key, secret);
    hmac::verify(&key, presented, tag.as_ref()).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_stable_and_separates_clusters() {
        let key = b"operator key of at least some length";
        let secret = derive_cluster_secret(key, "default", "cache", "uid-1");
        assert_eq!(secret.len(), 64);
        assert!(secret.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_eq!(
            secret,
            derive_cluster_secret(key, "default", "cache", "uid-1")
        );
        for other in [
            derive_cluster_secret(key, "default", "cache", "uid-2"),
            derive_cluster_secret(key, "other", "cache", "uid-1"),
            derive_cluster_secret(key, "default", "cachex", "uid-1"),
            derive_cluster_secret(key, "defaultc", "ache", "uid-1"),
            derive_cluster_secret(b"another key", "default", "cache", "uid-1"),
        ] {
            assert_ne!(secret, other);
        }
    }

    #[test]
    fn secrets_match_only_when_equal() {
        assert!(secrets_match(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!secrets_match(b"0123456789abcdef", b"0123456789abcdeg"));
        assert!(!secrets_match(b"0123456789abcdef", b"0123456789abcde"));
        assert!(!secrets_match(b"0123456789abcdef", b""));
    }
}

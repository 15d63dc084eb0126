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

/// Prefix of a credential bound to one TLS session (see [`bound_token`]).
pub const BOUND_TOKEN_PREFIX: &str = "rcb1.";
/// Response header in which a member proves, on a TLS session, that it knows the cluster secret.
pub const PROOF_HEADER: &str = "ringcache-proof";
/// The TLS exporter label (RFC 5705) both sides derive the session's binding with.
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-ringcache-admin-v1";
/// Length of the binding exported from a TLS session.
pub const BINDING_LEN: usize = 32;

fn tag(secret: &[u8], role: &[u8], binding: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut context = hmac::Context::with_key(&key);
    context.update(role);
    context.update(binding);
    hex(context.sign().as_ref())
}

/// A credential for one TLS session: `rcb1.` and an HMAC of the session's exported `binding`
/// under the cluster secret. A caller that cannot verify the member's certificate (the operator
/// holds no CA) sends this instead of the secret: a man in the middle sees a value that is
/// useless on any other session and learns nothing about the secret.
pub fn bound_token(secret: &[u8], binding: &[u8]) -> String {
    format!(
        "{BOUND_TOKEN_PREFIX}{}",
        tag(secret, b"ringcache admin caller", binding)
    )
}

/// Whether `token` is [`bound_token`] for this `secret` and session.
pub fn bound_token_matches(secret: &[u8], binding: &[u8], token: &[u8]) -> bool {
    secrets_match(bound_token(secret, binding).as_bytes(), token)
}

/// The member's answer to a bound credential: proves to the caller that the other end of this
/// TLS session knows the cluster secret (so it is a member, not an interceptor).
pub fn server_proof(secret: &[u8], binding: &[u8]) -> String {
    tag(secret, b"ringcache admin member", binding)
}

/// Whether `proof` is [`server_proof`] for this `secret` and session.
pub fn server_proof_matches(secret: &[u8], binding: &[u8], proof: &[u8]) -> bool {
    secrets_match(server_proof(secret, binding).as_bytes(), proof)
}

#[cfg(test)]
mod binding_tests {
    use super::*;

    #[test]
    fn bound_credentials_are_per_session_and_per_role() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let session = [7u8; BINDING_LEN];
        let other = [8u8; BINDING_LEN];
        let token = bound_token(secret, &session);
        assert!(token.starts_with(BOUND_TOKEN_PREFIX));
        assert!(bound_token_matches(secret, &session, token.as_bytes()));
        assert!(!bound_token_matches(secret, &other, token.as_bytes()));
        assert!(!bound_token_matches(
            b"another secret of enough length!",
            &session,
            token.as_bytes()
        ));
        let proof = server_proof(secret, &session);
        assert!(server_proof_matches(secret, &session, proof.as_bytes()));
        // A caller's token is not a member's proof (a reflected token proves nothing).
        let reflected = token.trim_start_matches(BOUND_TOKEN_PREFIX);
        assert!(!server_proof_matches(
            secret,
            &session,
            reflected.as_bytes()
        ));
        assert!(!token.contains(&hex(secret)));
    }
}

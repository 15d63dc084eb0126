//! [`Security`]: who may use the admin API and the member-to-member paths. Holds the cluster
//! secret (`--cluster-secret-file`), checks what callers present, and counts what it refuses.
//!
//! ```text
//!  admin API  ── Authorization: Bearer <secret> ──► check_admin ─► route   (else 401, counted)
//!  pre-stop   ── no credential (the kubelet) ──────► allow_pre_stop ─► hand leadership away
//!                                                    (at most once per PRE_STOP_INTERVAL, else 429)
//!  Redis port ── AUTH ringcache-member <secret> ───► a forwarding member (any password rotation)
//!  cluster port: the replication crate's handshake, with the same secret
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

/// The user name members authenticate with on each other's Redis port when they forward a
/// client's command: its password is the cluster secret, so forwarding keeps working while a
/// rotated `spec.auth` password reaches the members one by one.
pub const MEMBER_USER: &str = "ringcache-member";

/// Shortest time between two unauthenticated pre-stop calls that hand leadership away.
pub const PRE_STOP_INTERVAL: Duration = Duration::from_secs(30);

/// Why an admin request was refused; fixed metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRefusal {
    /// No `Authorization` header.
    Missing,
    /// A header that is not `Bearer <token>`.
    Malformed,
    /// A token that is not the cluster secret.
    WrongSecret,
}

impl AdminRefusal {
    pub const ALL: [AdminRefusal; 3] = [
        AdminRefusal::Missing,
        AdminRefusal::Malformed,
        AdminRefusal::WrongSecret,
    ];

    pub fn label(self) -> &'static str {
        match self {
            AdminRefusal::Missing => "missing",
            AdminRefusal::Malformed => "malformed",
            AdminRefusal::WrongSecret => "wrong_secret",
        }
    }

    /// What the caller is told, and what to do about it.
    pub fn message(self) -> &'static str {
        match self {
            AdminRefusal::Missing => {
                "this admin operation needs the cluster secret: send 'Authorization: Bearer <secret>' \
                 (the content of the member's --cluster-secret-file; in Kubernetes the Secret \
                 <cluster>-cluster-secret)"
            }
            AdminRefusal::Malformed => "the Authorization header must be 'Bearer <cluster secret>'",
            AdminRefusal::WrongSecret => {
                "the credential is not this cluster's secret (compare it with the member's \
                 --cluster-secret-file)"
            }
        }
    }
}

/// The credential one member presents on another's Redis port when it forwards.
#[derive(Clone)]
pub struct PeerCredential {
    pub user: Bytes,
    pub password: Bytes,
}

impl std::fmt::Debug for PeerCredential {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "PeerCredential({}, <redacted>)",
            String::from_utf8_lossy(&self.user)
        )
    }
}

/// What a member needs to use another member's Redis port.
#[derive(Debug, Clone, Default)]
pub struct PeerAccess {
    pub credential: Option<PeerCredential>,
    pub tls: Option<std::sync::Arc<crate::tls::Tls>>,
}

/// The cluster secret and the checks made with it.
pub struct Security {
    secret: Option<Bytes>,
    admin_refused: [AtomicU64; 3],
    pre_stop_handed_off: AtomicU64,
    pre_stop_limited: AtomicU64,
    last_pre_stop: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Security")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Security {
    /// `secret`: the cluster secret; `None` leaves the admin API open (a warning is logged at
    /// start-up in cluster mode).
    pub fn new(secret: Option<Vec<u8>>) -> Self {
        Security {
            secret: secret.map(Bytes::from),
            admin_refused: Default::default(),
            pre_stop_handed_off: AtomicU64::new(0),
            pre_stop_limited: AtomicU64::new(0),
            last_pre_stop: Mutex::new(None),
        }
    }

    /// The cluster secret, if this member has one.
    pub fn secret(&self) -> Option<&[u8]> {
        self.secret.as_deref()
    }

    /// Checks an admin request's `Authorization` header value: the secret itself, or on a TLS
    /// session (`binding` exported from it) the secret bound to that session
    /// ([`ringcache_admin::credential::bound_token`]); counts a refusal.
    pub fn check_admin(
        &self,
        authorization: Option<&[u8]>,
        binding: Option<&[u8]>,
    ) -> Result<(), AdminRefusal> {
        let Some(secret) = &self.secret else {
            return Ok(());
        };
        let bound = |token: &[u8]| {
            binding.is_some_and(|binding| {
                ringcache_admin::credential::bound_token_matches(secret, binding, token)
            })
        };
        let result = match authorization {
            None => Err(AdminRefusal::Missing),
            Some(value) => match bearer_token(value) {
                None => Err(AdminRefusal::Malformed),
                Some(token) if ringcache_admin::secrets_match(secret, token) => Ok(()),
                Some(token) if bound(token) => Ok(()),
                Some(_) => Err(AdminRefusal::WrongSecret),
            },
        };
        if let Err(refusal) = result {
            self.admin_refused[refusal as usize].fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Admin requests refused for `refusal`.
    pub fn admin_refused(&self, refusal: AdminRefusal) -> u64 {
        self.admin_refused[refusal as usize].load(Ordering::Relaxed)
    }

    /// Whether `password` is the cluster secret (for [`MEMBER_USER`]).
    pub fn is_member_secret(&self, password: &[u8]) -> bool {
        self.secret
            .as_ref()
            .is_some_and(|secret| ringcache_admin::secrets_match(secret, password))
    }

    /// Whether an unauthenticated pre-stop call may hand leadership away now: at most once per
    /// [`PRE_STOP_INTERVAL`], so anyone who can reach the port cannot keep the cluster electing.
    /// `Err` holds how long until the next one may.
    pub fn allow_pre_stop(&self, now: Instant) -> Result<(), Duration> {
        let mut last = self.last_pre_stop.lock();
        if let Some(previous) = *last {
            let since = now.saturating_duration_since(previous);
            if since < PRE_STOP_INTERVAL {
                self.pre_stop_limited.fetch_add(1, Ordering::Relaxed);
                return Err(PRE_STOP_INTERVAL - since);
            }
        }
        *last = Some(now);
        self.pre_stop_handed_off.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Pre-stop calls that handed leadership away, and those refused as too soon.
    pub fn pre_stop_calls(&self) -> (u64, u64) {
        (
            self.pre_stop_handed_off.load(Ordering::Relaxed),
            self.pre_stop_limited.load(Ordering::Relaxed),
        )
    }

    /// What this member presents when it forwards to another member's Redis port: the member
    /// user and the cluster secret when it has one, else the password (`password`), if any.
    pub fn peer_credential(&self, password: Option<&str>) -> Option<PeerCredential> {
        match (&self.secret, password) {
            (Some(secret), _) => Some(PeerCredential {
                user: Bytes::from_static(MEMBER_USER.as_bytes()),
                password: secret.clone(),
            }),
            (None, Some(password)) => Some(PeerCredential {
                user: Bytes::from_static(b"default"),
                password: Bytes::copy_from_slice(password.as_bytes()),
            }),
            (None, None) => None,
        }
    }
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 7235).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = token.trim_ascii();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn admin_checks_count_by_reason() {
        let security = Security::new(Some(SECRET.to_vec()));
        assert_eq!(security.check_admin(None, None), Err(AdminRefusal::Missing));
        assert_eq!(
            security.check_admin(Some(b"Basic abc"), None),
            Err(AdminRefusal::Malformed)
        );
        assert_eq!(
            security.check_admin(Some(b"Bearer "), None),
            Err(AdminRefusal::Malformed)
        );
        assert_eq!(
            security.check_admin(Some(b"Bearer 0123456789abcdef0123456789abcdeX"), None),
            Err(AdminRefusal::WrongSecret)
        );
        let good = [b"Bearer ".as_slice(), SECRET].concat();
        assert_eq!(security.check_admin(Some(&good), None), Ok(()));
        let lower = [b"bearer ".as_slice(), SECRET].concat();
        assert_eq!(security.check_admin(Some(&lower), None), Ok(()));
        for refusal in AdminRefusal::ALL {
            assert_eq!(
                security.admin_refused(refusal),
                if refusal == AdminRefusal::Malformed {
                    2
                } else {
                    1
                }
            );
        }
    }

    #[test]
    fn a_credential_bound_to_a_tls_session_counts_only_there() {
        let security = Security::new(Some(SECRET.to_vec()));
        let session = [3u8; ringcache_admin::credential::BINDING_LEN];
        let other = [4u8; ringcache_admin::credential::BINDING_LEN];
        let token = format!(
            "Bearer {}",
            ringcache_admin::credential::bound_token(SECRET, &session)
        );
        assert_eq!(
            security.check_admin(Some(token.as_bytes()), Some(&session)),
            Ok(())
        );
        assert_eq!(
            security.check_admin(Some(token.as_bytes()), Some(&other)),
            Err(AdminRefusal::WrongSecret)
        );
        assert_eq!(
            security.check_admin(Some(token.as_bytes()), None),
            Err(AdminRefusal::WrongSecret)
        );
    }

    #[test]
    fn without_a_secret_the_admin_api_is_open() {
        let security = Security::new(None);
        assert_eq!(security.check_admin(None, None), Ok(()));
        assert!(!security.is_member_secret(b""));
    }

    #[test]
    fn pre_stop_is_rate_limited() {
        let security = Security::new(None);
        let start = Instant::now();
        assert_eq!(security.allow_pre_stop(start), Ok(()));
        let wait = security
            .allow_pre_stop(start + Duration::from_secs(1))
            .expect_err("too soon");
        assert_eq!(wait, PRE_STOP_INTERVAL - Duration::from_secs(1));
        assert_eq!(security.allow_pre_stop(start + PRE_STOP_INTERVAL), Ok(()));
        assert_eq!(security.pre_stop_calls(), (2, 1));
    }

    #[test]
    fn members_forward_with_the_secret_when_they_have_one() {
        let with_secret = Security::new(Some(SECRET.to_vec()));
        let credential = with_secret.peer_credential(Some("password")).unwrap();
        assert_eq!(&credential.user[..], MEMBER_USER.as_bytes());
        assert_eq!(&credential.password[..], SECRET);
        assert!(with_secret.is_member_secret(SECRET));
        assert!(!with_secret.is_member_secret(b"password"));
        let without = Security::new(None);
        let credential = without.peer_credential(Some("password")).unwrap();
        assert_eq!(&credential.user[..], b"default");
        assert!(without.peer_credential(None).is_none());
    }
}

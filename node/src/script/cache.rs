//! The script cache: SHA-1 → source, shared by every connection (EVALSHA, SCRIPT EXISTS,
//! SCRIPT FLUSH). Compiled functions live per thread in `vm.rs`; this holds only the sources, so
//! any thread can compile a script it has not seen yet.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use parking_lot::RwLock;

use super::{ScriptError, compile, flags, sha1_hex};

/// Thread-safe map from lowercase hex SHA-1 to script source.
#[derive(Debug, Default)]
pub struct ScriptCache {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    scripts: HashMap<String, Bytes>,
    memory: usize,
    /// Scripts that once ran past the inline budget: they start off the worker from then on.
    long_running: HashSet<String>,
}

/// What Redis accounts for one cached script besides its body (the SHA's sds and dict entry).
const ENTRY_OVERHEAD: usize = 40 + 48;

impl ScriptCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a script after checking that its shebang and its Lua compile, as SCRIPT LOAD and
    /// EVAL do; returns its SHA-1. A script already cached is not compiled again.
    pub fn load(&self, source: Bytes) -> Result<String, ScriptError> {
        let sha = sha1_hex(&source);
        if self.inner.read().scripts.contains_key(&sha) {
            return Ok(sha);
        }
        flags::parse(&source)?;
        compile(&source, &sha)?;
        let mut inner = self.inner.write();
        if !inner.scripts.contains_key(&sha) {
            inner.memory += ENTRY_OVERHEAD + source.len();
            inner.scripts.insert(sha.clone(), source);
        }
        Ok(sha)
    }

    /// The source of a script by SHA-1, in any letter case (EVALSHA accepts both).
    pub fn get(&self, sha: &[u8]) -> Option<Bytes> {
        let key = normalize(sha)?;
        self.inner.read().scripts.get(&key).cloned()
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        normalize(sha).is_some_and(|key| self.inner.read().scripts.contains_key(&key))
    }

    /// SCRIPT FLUSH. Compiled functions in the threads' VMs stay until evicted; they are only
    /// reachable through a source, so EVALSHA of a flushed script still replies NOSCRIPT.
    pub fn flush(&self) {
        let mut inner = self.inner.write();
        inner.scripts = HashMap::new();
        inner.long_running = HashSet::new();
        inner.memory = 0;
    }

    /// Whether the script once ran past its inline budget (see `crate::transaction::script`).
    pub fn runs_long(&self, sha: &str) -> bool {
        let inner = self.inner.read();
        !inner.long_running.is_empty() && inner.long_running.contains(sha)
    }

    /// Remembers whether the script ran past its inline budget last time (until SCRIPT FLUSH).
    pub fn mark_long_running(&self, sha: &str, long: bool) {
        if self.runs_long(sha) == long {
            return;
        }
        let mut inner = self.inner.write();
        if !long {
            inner.long_running.remove(sha);
        } else if inner.scripts.contains_key(sha) {
            inner.long_running.insert(sha.to_owned());
        }
    }

    pub fn len(&self) -> usize {
        self.inner.read().scripts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by cached scripts (`used_memory_scripts` in INFO).
    pub fn memory(&self) -> usize {
        self.inner.read().memory
    }
}

/// A SHA-1 as the map's key: 40 hex digits, lowercased; anything else cannot name a script.
fn normalize(sha: &[u8]) -> Option<String> {
    if sha.len() != 40 || !sha.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    Some(
        sha.iter()
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_get_exists_flush() {
        let cache = ScriptCache::new();
        let source = Bytes::from_static(b"return 1");
        let sha = cache.load(source.clone()).unwrap();
        assert_eq!(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
        assert_eq!(cache.get(sha.as_bytes()), Some(source.clone()));
        assert!(cache.exists(sha.to_uppercase().as_bytes()));
        assert!(!cache.exists(b"e0e1f9fabfc9d4800c877a703b823ac0578ff8dc"));
        assert!(!cache.exists(b"nope"));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.memory(), ENTRY_OVERHEAD + source.len());
        // Loading again changes nothing.
        assert_eq!(cache.load(source).unwrap(), sha);
        assert_eq!(cache.len(), 1);
        cache.flush();
        assert!(cache.is_empty());
        assert_eq!(cache.memory(), 0);
        assert_eq!(cache.get(sha.as_bytes()), None);
    }

    #[test]
    fn load_refuses_what_does_not_compile() {
        let cache = ScriptCache::new();
        let err = cache.load(Bytes::from_static(b"return 1 +")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
        );
        let err = cache
            .load(Bytes::from_static(b"#!lua flags=bad\nreturn 1"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ERR Unexpected flag in script shebang: bad"
        );
        assert!(cache.is_empty());
    }

    #[test]
    fn long_running_marks_last_until_flush() {
        let cache = ScriptCache::new();
        let sha = cache.load(Bytes::from_static(b"return 2")).unwrap();
        assert!(!cache.runs_long(&sha));
        cache.mark_long_running(&sha, true);
        assert!(cache.runs_long(&sha));
        cache.mark_long_running(&sha, false);
        assert!(!cache.runs_long(&sha));
        cache.mark_long_running(&sha, true);
        // Only cached scripts are marked (the set cannot grow past the cache).
        cache.mark_long_running("0000000000000000000000000000000000000000", true);
        assert!(!cache.runs_long("0000000000000000000000000000000000000000"));
        cache.flush();
        let sha = cache.load(Bytes::from_static(b"return 2")).unwrap();
        assert!(!cache.runs_long(&sha));
    }
}

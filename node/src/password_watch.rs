//! Password rotation without a restart: `--requirepass-file` is read again every second, and a
//! new content becomes the password for new authentications (connections already authenticated
//! stay so, as with Redis's `CONFIG SET requirepass`).
//!
//! Kubernetes updates a mounted Secret in place (an atomic symlink swap) some time after the
//! Secret changes, so polling the content is both simple and reliable; file events would miss
//! the swap on some volume types.

use std::path::PathBuf;
use std::sync::Weak;
use std::time::Duration;

use crate::shared::Shared;

/// How often the password file is read.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Starts following `path` (from `--requirepass-file`), if given, for as long as `shared` lives.
pub fn follow(path: Option<PathBuf>, shared: &std::sync::Arc<Shared>) {
    if let Some(path) = path {
        tokio::spawn(watch_password_file(path, std::sync::Arc::downgrade(shared)));
    }
}

/// Follows the password file until `shared` is gone. Only a change of the file's content is
/// applied, so a `CONFIG SET requirepass` stays until the file changes again. An unreadable or
/// empty file keeps the current password (logged once per episode).
pub async fn watch_password_file(path: PathBuf, shared: Weak<Shared>) {
    let mut last_read = read(&path).await.ok();
    let mut complained = false;
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match read(&path).await {
            Ok(password) => {
                complained = false;
                if last_read.as_ref() != Some(&password) {
                    shared.settings.write().password = Some(password.clone());
                    last_read = Some(password);
                    tracing::info!(file = %path.display(), "password changed: new connections must use the new one");
                }
            }
            Err(problem) if !complained => {
                complained = true;
                tracing::warn!(file = %path.display(), %problem, "cannot read the password file; keeping the current password");
            }
            Err(_) => {}
        }
    }
}

/// Reads the file off the async workers (file IO blocks).
async fn read(path: &std::path::Path) -> Result<String, String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || read_now(&path))
        .await
        .map_err(|error| error.to_string())?
}

fn read_now(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|error| error.to_string())?;
    let password = text.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err("the file is empty".to_owned());
    }
    Ok(password.to_owned())
}

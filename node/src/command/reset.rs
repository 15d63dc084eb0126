//! RESET: the connection as it was when it connected: no subscriptions, RESP2, not READONLY, no
//! name, authenticated only when no password is set (Redis's `clearClientConnectionState`).

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{CommandResult, Session};
use crate::protocol::{Protocol, ReplyWriter};

pub fn reset(session: &mut Session<'_>, _args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    // MULTI state and watched keys go first, as in Redis. (A watch forwarded to a leader in a
    // cluster stays on that forwarding connection until its next EXEC, which it may abort;
    // never the other way round.)
    session.client.transaction.reset();
    session.shared.pubsub.leave_all(&mut session.client.pubsub);
    session.client.readonly = false;
    session.client.member = false;
    session.client.authenticated = session.shared.settings.read().password.is_none();
    session.client.handle.names.lock().name.clear();
    out.set_protocol(Protocol::Resp2);
    session
        .client
        .handle
        .protocol
        .store(Protocol::Resp2.number() as u8, Ordering::Relaxed);
    out.simple("RESET");
    Ok(())
}

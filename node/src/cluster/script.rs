//! EVAL and kin in cluster mode.

use bytes::Bytes;

use super::Cluster;
use super::dispatch::ConnectionRouting;
use crate::command::Session;
use crate::command::eval::ScriptCall;
use crate::protocol::ReplyWriter;

pub async fn serve(
    _session: &mut Session<'_>,
    _cluster: &Cluster,
    _routing: &mut ConnectionRouting,
    _call: ScriptCall,
    _args: &[Bytes],
    out: &mut ReplyWriter,
) {
    out.error("ERR scripting is being integrated");
}

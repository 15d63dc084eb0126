//! HELLO [protover [AUTH username password] [SETNAME clientname]]

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{CommandError, CommandResult, Session, auth, text};
use crate::protocol::{Frame, Protocol, ReplyWriter};

pub fn hello(context: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let mut protocol = out.protocol();
    if let Some(version) = args.get(1) {
        protocol = match super::integer_arg(version) {
            Ok(2) => Protocol::Resp2,
            Ok(3) => Protocol::Resp3,
            Ok(_) => {
                return Err(CommandError::Message(
                    "NOPROTO unsupported protocol version".to_owned(),
                ));
            }
            Err(_) => {
                return Err(CommandError::Message(
                    "ERR Protocol version is not an integer or out of range".to_owned(),
                ));
            }
        };
    }
    let mut credentials = None;
    let mut name = None;
    let mut index = 2;
    while index < args.len() {
        let option = args[index].to_ascii_uppercase();
        let remaining = args.len() - index - 1;
        match option.as_slice() {
            b"AUTH" if remaining >= 2 => {
                credentials = Some((&args[index + 1], &args[index + 2]));
                index += 3;
            }
            b"SETNAME" if remaining >= 1 => {
                name = Some(&args[index + 1]);
                index += 2;
            }
            _ => {
                return Err(CommandError::Message(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    text(&args[index])
                )));
            }
        }
    }
    if let Some((username, password)) = credentials {
        auth::check(context.shared, Some(username), password)?;
        context.client.authenticated = true;
        context.client.member = &username[..] == crate::security::MEMBER_USER.as_bytes();
    }
    if !context.client.authenticated {
        return Err(CommandError::Message(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".to_owned(),
        ));
    }
    if let Some(name) = name {
        super::client::validate_name(name)?;
        context.client.handle.names.lock().name = text(name).into_owned();
    }
    out.set_protocol(protocol);
    context
        .client
        .handle
        .protocol
        .store(protocol.number() as u8, Ordering::Relaxed);
    let reply = Frame::map([
        ("server", Frame::bulk("redis")),
        ("version", Frame::bulk(crate::REDIS_COMPATIBLE_VERSION)),
        ("proto", Frame::Integer(protocol.number())),
        ("id", Frame::Integer(context.client.handle.id as i64)),
        ("mode", Frame::bulk("standalone")),
        ("role", Frame::bulk("master")),
        ("modules", Frame::Array(Vec::new())),
    ]);
    out.frame(&reply);
    Ok(())
}

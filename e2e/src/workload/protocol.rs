//! The Redis cluster protocol as the workload's clients need it: what an error reply means for
//! the operation (docs/admin-api.md, "Client protocol in cluster mode"), and slot routing from
//! `CLUSTER SLOTS` and `-MOVED`.

use std::sync::Arc;

/// How a failed request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Certainly not applied (`-TRYAGAIN`, `-CLUSTERDOWN`): safe to retry.
    NotApplied,
    /// `-MOVED <slot> <address>`: not applied, ask `address`.
    Moved(String),
    /// May or may not have been applied.
    Unknown,
    /// An error reply the protocol does not document.
    Unexpected(String),
}

/// Classifies an error by its reply code and detail; `transport` is a timeout, an I/O error or a
/// dropped connection. Pure, so the mapping is unit-tested.
pub fn classify_parts(code: Option<&str>, detail: Option<&str>, transport: bool) -> Failure {
    match code {
        Some("TRYAGAIN" | "CLUSTERDOWN") => Failure::NotApplied,
        Some("MOVED") => match detail.and_then(|detail| detail.split_ascii_whitespace().nth(1)) {
            Some(address) => Failure::Moved(address.to_owned()),
            None => Failure::Unexpected(format!("MOVED without an address: {detail:?}")),
        },
        Some("ERR") if detail.is_some_and(|detail| detail.starts_with("outcome unknown")) => {
            Failure::Unknown
        }
        _ if transport => Failure::Unknown,
        _ => Failure::Unexpected(format!("{} {}", code.unwrap_or("?"), detail.unwrap_or(""))),
    }
}

/// [`classify_parts`] of a client error.
pub fn classify(error: &redis::RedisError) -> Failure {
    let transport = error.is_io_error() || error.is_timeout() || error.is_connection_dropped();
    match classify_parts(error.code(), error.detail(), transport) {
        Failure::Unexpected(_) => Failure::Unexpected(error.to_string()),
        failure => failure,
    }
}

/// `(first slot, last slot, "host:port")` of each range in a `CLUSTER SLOTS` reply (the first node
/// of a range is the master: here, the partition's leader).
pub fn parse_cluster_slots(reply: &redis::Value) -> Vec<(u16, u16, String)> {
    let redis::Value::Array(ranges) = reply else {
        return Vec::new();
    };
    ranges
        .iter()
        .filter_map(|range| {
            let redis::Value::Array(fields) = range else {
                return None;
            };
            let slot = |value: &redis::Value| match value {
                redis::Value::Int(number) => u16::try_from(*number).ok(),
                _ => None,
            };
            let redis::Value::Array(node) = fields.get(2)? else {
                return None;
            };
            let host = match node.first()? {
                redis::Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok()?,
                redis::Value::SimpleString(text) => text.clone(),
                _ => return None,
            };
            let port = slot(node.get(1)?)?;
            Some((
                slot(fields.first()?)?,
                slot(fields.get(1)?)?,
                format!("{host}:{port}"),
            ))
        })
        .collect()
}

/// Where a cluster-aware client sends each slot, learnt from CLUSTER SLOTS and -MOVED.
pub(super) struct Routes {
    pub(super) by_slot: Vec<Option<Arc<str>>>,
}

impl Routes {
    pub(super) fn new() -> Self {
        Routes {
            by_slot: vec![None; usize::from(ringcache_placement::SLOT_COUNT)],
        }
    }

    pub(super) fn learn(&mut self, slots: &[(u16, u16, String)]) {
        for (first, last, address) in slots {
            let address: Arc<str> = Arc::from(address.as_str());
            for slot in *first..=*last {
                if let Some(entry) = self.by_slot.get_mut(usize::from(slot)) {
                    *entry = Some(address.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_replies_are_classified_as_the_protocol_says() {
        assert_eq!(
            classify_parts(Some("TRYAGAIN"), Some("the write was not applied"), false),
            Failure::NotApplied
        );
        assert_eq!(
            classify_parts(
                Some("CLUSTERDOWN"),
                Some("partition 3 has no leader"),
                false
            ),
            Failure::NotApplied
        );
        assert_eq!(
            classify_parts(Some("MOVED"), Some("3999 127.0.0.2:6379"), false),
            Failure::Moved("127.0.0.2:6379".to_owned())
        );
        assert_eq!(
            classify_parts(Some("ERR"), Some("outcome unknown: leadership lost"), false),
            Failure::Unknown
        );
        // Timeouts and dropped connections carry no reply code.
        assert_eq!(classify_parts(None, None, true), Failure::Unknown);
    }

    #[test]
    fn undocumented_errors_are_unexpected_even_over_a_broken_connection() {
        assert!(matches!(
            classify_parts(Some("ERR"), Some("unknown command"), false),
            Failure::Unexpected(_)
        ));
        assert!(matches!(
            classify_parts(Some("MOVED"), Some("3999"), false),
            Failure::Unexpected(_)
        ));
    }

    #[test]
    fn cluster_slots_replies_parse_into_ranges() {
        use redis::Value::{Array, BulkString, Int};
        let node = |host: &str, port: i64| {
            Array(vec![
                BulkString(host.as_bytes().to_vec()),
                Int(port),
                BulkString(b"id".to_vec()),
            ])
        };
        let reply = Array(vec![
            Array(vec![
                Int(0),
                Int(1023),
                node("127.0.0.1", 6379),
                node("127.0.0.2", 6379),
            ]),
            Array(vec![Int(1024), Int(2047), node("127.0.0.3", 6380)]),
            Array(vec![Int(2048)]),
        ]);
        assert_eq!(
            parse_cluster_slots(&reply),
            vec![
                (0, 1023, "127.0.0.1:6379".to_owned()),
                (1024, 2047, "127.0.0.3:6380".to_owned())
            ]
        );
        assert!(parse_cluster_slots(&redis::Value::Nil).is_empty());
    }

    #[test]
    fn routes_follow_cluster_slots_and_redirections() {
        let mut routes = Routes::new();
        routes.learn(&[(0, 99, "a:1".to_owned()), (100, 16383, "b:2".to_owned())]);
        assert_eq!(routes.by_slot[5].as_deref(), Some("a:1"));
        assert_eq!(routes.by_slot[16383].as_deref(), Some("b:2"));
        routes.by_slot[5] = Some(Arc::from("c:3"));
        assert_eq!(routes.by_slot[5].as_deref(), Some("c:3"));
    }
}

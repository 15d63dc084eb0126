//! Helpers of the INFO and /metrics tests (`info.rs`, `info_cluster.rs`): INFO's text parsed into
//! sections and fields, a Prometheus exposition parsed into samples and types, and the Grafana
//! dashboard's expressions.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::cluster_support::http_as;
use crate::common::RawClient;

/// INFO's text by section (lower case, as requested) and field.
pub type Info = BTreeMap<String, BTreeMap<String, String>>;

/// The payload of a bulk (RESP2) reply.
pub fn payload(raw: &str) -> String {
    let (header, rest) = raw.split_once("\r\n").expect("a bulk reply");
    assert!(header.starts_with('$'), "not a bulk reply: {raw:?}");
    rest.strip_suffix("\r\n").unwrap_or(rest).to_owned()
}

pub fn info_text(c: &mut RawClient, sections: &[&str]) -> String {
    let mut args = vec!["INFO"];
    args.extend_from_slice(sections);
    payload(&c.cmd(&args))
}

pub fn parse_info(text: &str) -> Info {
    let mut info = Info::new();
    let mut section = String::new();
    for line in text.split("\r\n") {
        if let Some(name) = line.strip_prefix("# ") {
            section = name.to_ascii_lowercase();
            info.entry(section.clone()).or_default();
        } else if let Some((field, value)) = line.split_once(':') {
            info.entry(section.clone())
                .or_default()
                .insert(field.to_owned(), value.to_owned());
        } else {
            assert!(line.is_empty(), "neither a header nor a field: {line:?}");
        }
    }
    info
}

pub fn headers(text: &str) -> Vec<String> {
    text.split("\r\n")
        .filter_map(|line| line.strip_prefix("# "))
        .map(str::to_owned)
        .collect()
}

pub fn text_of<'a>(info: &'a Info, section: &str, field: &str) -> &'a str {
    info.get(section)
        .and_then(|fields| fields.get(field))
        .unwrap_or_else(|| panic!("{section}.{field} missing from {info:#?}"))
}

pub fn int(info: &Info, section: &str, field: &str) -> u64 {
    let text = text_of(info, section, field);
    text.parse()
        .unwrap_or_else(|_| panic!("{section}.{field} is not a count: {text}"))
}

pub fn float(info: &Info, section: &str, field: &str) -> f64 {
    let text = text_of(info, section, field);
    text.parse()
        .unwrap_or_else(|_| panic!("{section}.{field} is not a number: {text}"))
}

/// The `key=value` pairs of a line such as `cmdstat_get` or `db0`.
pub fn pairs(info: &Info, section: &str, field: &str) -> BTreeMap<String, String> {
    text_of(info, section, field)
        .split(',')
        .map(|pair| {
            let (key, value) = pair.split_once('=').expect("key=value");
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

pub fn pair_int(pairs: &BTreeMap<String, String>, key: &str) -> u64 {
    pairs[key].parse().expect("an integer")
}

/// Polls INFO until `done` holds (bounded), returning that INFO.
pub fn info_until(c: &mut RawClient, what: &str, done: impl Fn(&Info) -> bool) -> Info {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = parse_info(&info_text(c, &["everything"]));
        if done(&info) {
            return info;
        }
        assert!(Instant::now() < deadline, "{what}: not reached: {info:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A Prometheus text exposition: every sample by `name{labels}`, and every family's type.
pub struct Exposition {
    pub samples: BTreeMap<String, f64>,
    pub types: BTreeMap<String, String>,
}

pub fn parse_exposition(text: &str) -> Exposition {
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            types.insert(name.to_owned(), kind.to_owned());
        } else if !line.starts_with('#') && !line.is_empty() {
            let (series, value) = line.rsplit_once(' ').expect("series value");
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("not a sample value: {line}"));
            samples.insert(series.to_owned(), value);
        }
    }
    Exposition { samples, types }
}

impl Exposition {
    pub fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("{series} not exported"))
    }
}

pub async fn get_metrics(address: &str) -> String {
    let answer = http_as(address, "GET", "/metrics", b"", None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

pub fn valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

/// The metric names a PromQL expression uses (ours all start with `ringcache_`).
pub fn metric_names(expression: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expression;
    while let Some(start) = rest.find("ringcache_") {
        let tail = &rest[start..];
        let end = tail
            .find(|character: char| !(character.is_ascii_alphanumeric() || character == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

pub fn dashboard() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/grafana/ringcache.json"
    ))
    .expect("docs/grafana/ringcache.json");
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every expression of the dashboard: panel targets and templating queries.
pub fn dashboard_expressions(dashboard: &serde_json::Value) -> Vec<String> {
    let mut expressions = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            expressions.push(target["expr"].as_str().expect("expr").to_owned());
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
    {
        if let Some(query) = variable["query"]["query"].as_str() {
            expressions.push(query.to_owned());
        }
    }
    expressions
}

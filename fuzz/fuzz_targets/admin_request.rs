//! An admin API request (method, path, body) from anyone who can reach the port, answered by
//! the node's real router: every answer is a well-formed HTTP answer below 500, never a panic.
//! The node runs as a single process here, so a request that gets past path and body parsing
//! is refused for not being in cluster mode: what is fuzzed is the parsing.
#![no_main]

use std::sync::{Arc, OnceLock};

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"];

fn router() -> &'static axum::Router {
    static ROUTER: OnceLock<axum::Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let config = ringcache_node::config::Config::parse_from(["ringcache-node"]);
        let shared = Arc::new(ringcache_node::shared::Shared::new(config, 0, None));
        ringcache_node::admin::router(Arc::new(ringcache_node::admin::AdminState {
            shared,
            cluster: None,
        }))
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&method, rest)) = data.split_first() else {
        return;
    };
    // The path runs to the first newline, the body is the rest.
    let split = rest.iter().position(|&byte| byte == b'\n').unwrap_or(rest.len());
    let (path, body) = (&rest[..split], rest.get(split + 1..).unwrap_or_default());
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    let Ok(request) = http::Request::builder()
        .method(METHODS[usize::from(method) % METHODS.len()])
        .uri(format!("/{}", path.trim_start_matches('/')))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_vec()))
    else {
        return;
    };
    let response = runtime()
        .block_on(router().clone().oneshot(request))
        .expect("the router is infallible");
    assert!(
        response.status().as_u16() < 500,
        "{} answered {}",
        path,
        response.status()
    );
});

//! A cluster-port frame body from anyone who can reach the port: garbage is an error, never a
//! panic, and a frame that decodes encodes back consistently.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ringcache_replication::fuzzing::frame_round_trip(data);
});

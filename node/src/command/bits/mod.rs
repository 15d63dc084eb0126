//! Bitmaps, HyperLogLog and the string commands that work on parts of a value: SETBIT, GETBIT,
//! BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO, PFADD, PFCOUNT, PFMERGE, GETRANGE, SUBSTR,
//! SETRANGE and LCS.
//!
//! Their values are plain Redis strings (TYPE says "string", GET returns the bytes): the logic on
//! the bytes is in [`crate::store::bits`] and [`crate::store::hll`]; the commands here read a
//! string entry, compute, and write a whole new entry back. A command that changes a value in
//! place in Redis (SETBIT, BITFIELD, SETRANGE, PFADD, PFMERGE, PFCOUNT's cache) keeps the key's
//! TTL; BITOP replaces its destination and drops it.
//!
//! Where Redis looks the key up before it parses some arguments (BITCOUNT, BITPOS, LCS), the
//! command keeps those arguments and parses them in the same order when it runs, so the same
//! request gets the same error (or none) as from redis-server.

mod bitcount;
mod bitfield;
mod bitop;
mod bitpos;
mod getbit;
mod getrange;
mod lcs;
mod pfadd;
mod pfcount;
mod pfmerge;
mod setbit;
mod setrange;

use crate::command::read::reads;
use crate::command::write::writes;
use crate::command::{CommandError, R, RF, W, WF};
use crate::store::hll::HllError;
use crate::store::{Store, WrongType};

reads! { BitsRead {
    GetBit(getbit::GetBit),
    BitCount(bitcount::BitCount),
    BitPos(bitpos::BitPos),
    BitFieldRo(bitfield::BitFieldRo),
    GetRange(getrange::GetRange),
    Lcs(lcs::Lcs),
}}

// Stored in the Raft log: only ever append variants.
writes! { BitsWrite {
    SetBit(setbit::SetBit),
    BitOp(bitop::BitOp),
    BitField(bitfield::BitField),
    SetRange(setrange::SetRange),
    PfAdd(pfadd::PfAdd),
    PfCount(pfcount::PfCount),
    PfMerge(pfmerge::PfMerge),
}}

// PFCOUNT: Redis reports it as `readonly` (COMMAND INFO), but with one key it may store the
// cardinality it computed into the value and propagates that change to its replicas. Here it is
// run as a write (replicated through the partition's log) so every replica holds the same bytes,
// while its flags stay what Redis reports (no denyoom, so it works over maxmemory as in Redis).
// BITFIELD is a write even with only GET subcommands, as in Redis (BITFIELD_RO is the read).
crate::command::table::commands! { COMMANDS;
    "setbit", 4, W, (1, 1, 1), "bitmap", "2.2.0", Write(setbit::parse),
        "Sets or clears the bit at offset in the string value stored at key";
    "getbit", 3, RF, (1, 1, 1), "bitmap", "2.2.0", Read(getbit::parse),
        "Returns the bit value at offset in the string value stored at key";
    "bitcount", -2, R, (1, 1, 1), "bitmap", "2.6.0", Read(bitcount::parse),
        "Count set bits in a string";
    "bitpos", -3, R, (1, 1, 1), "bitmap", "2.8.7", Read(bitpos::parse),
        "Find first bit set or clear in a string";
    "bitop", -4, W, (2, -1, 1), "bitmap", "2.6.0", Write(bitop::parse),
        "Perform bitwise operations between strings";
    "bitfield", -2, W, (1, 1, 1), "bitmap", "3.2.0", Write(bitfield::parse),
        "Perform arbitrary bitfield integer operations on strings";
    "bitfield_ro", -2, RF, (1, 1, 1), "bitmap", "6.0.0", Read(bitfield::parse_ro),
        "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD";
    "pfadd", -2, WF, (1, 1, 1), "hyperloglog", "2.8.9", Write(pfadd::parse),
        "Adds the specified elements to the specified HyperLogLog.";
    "pfcount", -2, R, (1, -1, 1), "hyperloglog", "2.8.9", Write(pfcount::parse),
        "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).";
    "pfmerge", -2, W, (1, -1, 1), "hyperloglog", "2.8.9", Write(pfmerge::parse),
        "Merge N different HyperLogLogs into a single one.";
    "getrange", 4, R, (1, 1, 1), "string", "2.4.0", Read(getrange::parse),
        "Get a substring of the string stored at a key";
    "substr", 4, R, (1, 1, 1), "string", "1.0.0", Read(getrange::parse),
        "Get a substring of the string stored at a key";
    "setrange", 4, W, (1, 1, 1), "string", "2.2.0", Write(setrange::parse),
        "Overwrite part of a string at key starting at the specified offset";
    "lcs", -3, R, (1, 2, 1), "string", "7.0.0", Read(lcs::parse),
        "Find longest common substring";
}

/// Redis's error for a bad GETBIT / SETBIT / BITFIELD offset.
const BIT_OFFSET_ERROR: &str = "ERR bit offset is not an integer or out of range";

fn bit_offset_error() -> CommandError {
    CommandError::Message(BIT_OFFSET_ERROR.to_owned())
}

/// The error reply for a value that is not a usable HyperLogLog.
fn hll_error(error: HllError) -> CommandError {
    CommandError::Message(error.message().to_owned())
}

/// A live string's bytes (copied, to be changed) and its expiry, for a write that changes the value
/// in place in Redis and so keeps the TTL; `None` when the key does not exist.
fn owned_string(
    store: &mut Store,
    key: &[u8],
    now_ms: u64,
) -> Result<Option<(Vec<u8>, u64)>, WrongType> {
    match store.get(key, now_ms) {
        Some(entry) => Ok(Some((entry.string()?.to_vec(), entry.expire_at_ms()))),
        None => Ok(None),
    }
}

/// Like [`owned_string`] for keys Redis checks with `lookupKeyRead` in a loop: `Err` holds the
/// position of the first key whose value is not a string, `None` stands for a missing key.
fn strings_of(
    db: &mut crate::store::Db<'_>,
    keys: &[bytes::Bytes],
) -> (Vec<Option<Vec<u8>>>, Option<usize>) {
    let now = db.now_ms;
    let mut values = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        match db.store(key).get(key, now) {
            None => values.push(None),
            Some(entry) => match entry.string() {
                Ok(value) => values.push(Some(value.to_vec())),
                Err(WrongType) => return (values, Some(index)),
            },
        }
    }
    (values, None)
}

#[cfg(test)]
mod tests {
    //! Commands run in process against keys of other types (no command in this family creates
    //! one), with the replies redis-server 7.0.15 gives for the same requests (a set at `h`).
    use bytes::Bytes;

    use crate::command::{Kind, ReadContext, lookup};
    use crate::eviction::EvictionPolicy;
    use crate::protocol::{Protocol, ReplyWriter};
    use crate::stats::LocalStats;
    use crate::store::Keyspace;
    use crate::store::types::SetValue;

    const NOW: u64 = 1_000_000;
    const WRONGTYPE: &str =
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

    fn run(keyspace: &Keyspace, args: &[&[u8]]) -> String {
        let args: Vec<Bytes> = args.iter().map(|arg| Bytes::copy_from_slice(arg)).collect();
        let spec = lookup(&args[0].to_ascii_lowercase()).expect("known command");
        let mut out = ReplyWriter::new(Protocol::Resp2);
        let result = match spec.kind {
            Kind::Read(parse) => parse(&args).and_then(|read| {
                let mut stats = LocalStats::default();
                let mut context = ReadContext {
                    keyspace,
                    stats: &mut stats,
                    now_ms: NOW,
                };
                read.run(&mut context, &mut out)
            }),
            Kind::Write(parse) => parse(&args, NOW).and_then(|write| {
                let keys: Vec<&[u8]> = write.keys().iter().collect();
                let frame = keyspace.with_keys(keys, NOW, |db| write.apply(db))?;
                out.frame(&frame);
                Ok(())
            }),
            _ => unreachable!("not a key command"),
        };
        if let Err(error) = result {
            out.error(&error.to_string());
        }
        String::from_utf8_lossy(out.buffer()).into_owned()
    }

    fn cmd(keyspace: &Keyspace, line: &str) -> String {
        let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        run(keyspace, &words)
    }

    fn keyspace_with_a_set() -> Keyspace {
        let keyspace = Keyspace::new(0, EvictionPolicy::NoEviction);
        keyspace.with_key(b"h", |store| {
            store
                .update::<SetValue, _>(b"h", NOW, true, |set| set.insert(b"m"))
                .unwrap();
        });
        let corrupt = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00";
        run(&keyspace, &[b"SET", b"corrupt", corrupt]);
        run(&keyspace, &[b"SET", b"s", b"foobar"]);
        keyspace
    }

    #[test]
    fn other_types_answer_as_redis_does() {
        let keyspace = keyspace_with_a_set();
        for line in [
            "GETBIT h 0",
            "SETBIT h 0 1",
            "BITCOUNT h",
            "BITCOUNT h a b",
            "BITPOS h 1",
            "BITPOS h 1 a b c d",
            "BITOP AND d h",
            "BITOP OR d s h",
            "BITFIELD h",
            "BITFIELD h GET u8 0",
            "BITFIELD h SET u8 0 1",
            "BITFIELD_RO h",
            "BITFIELD_RO h GET u8 0",
            "PFADD h a",
            "PFCOUNT h",
            "PFCOUNT s2 h",
            "PFCOUNT h corrupt",
            "PFMERGE h s2",
            "PFMERGE s2 h",
            "PFMERGE h corrupt",
            "PFMERGE d h corrupt",
            "GETRANGE h 0 1",
            "SUBSTR h 0 1",
            "SETRANGE h 0 x",
        ] {
            assert_eq!(cmd(&keyspace, line), WRONGTYPE, "{line}");
        }
        assert_eq!(run(&keyspace, &[b"SETRANGE", b"h", b"0", b""]), WRONGTYPE);
        let strings_only = "-ERR The specified keys must contain string values\r\n";
        assert_eq!(cmd(&keyspace, "LCS s h"), strings_only);
        assert_eq!(cmd(&keyspace, "LCS h missing bogus"), strings_only);
        let invalid = "-INVALIDOBJ Corrupted HLL object detected\r\n";
        assert_eq!(cmd(&keyspace, "PFCOUNT corrupt h"), invalid);
        assert_eq!(cmd(&keyspace, "PFMERGE corrupt h"), invalid);
        assert_eq!(cmd(&keyspace, "PFMERGE d corrupt h"), invalid);
        // Arguments Redis checks before the key.
        assert_eq!(
            cmd(&keyspace, "BITPOS h 2"),
            "-ERR The bit argument must be 1 or 0.\r\n"
        );
        assert_eq!(
            cmd(&keyspace, "GETRANGE h x 1"),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            cmd(&keyspace, "SETBIT h x 1"),
            "-ERR bit offset is not an integer or out of range\r\n"
        );
        // Nothing was written by the refused commands.
        for key in ["d", "s2"] {
            assert_eq!(cmd(&keyspace, &format!("EXISTS {key}")), ":0\r\n", "{key}");
        }
        assert_eq!(cmd(&keyspace, "TYPE h"), "+set\r\n");
        // BITOP replaces a destination of any type.
        assert_eq!(cmd(&keyspace, "BITOP XOR h s"), ":6\r\n");
        assert_eq!(cmd(&keyspace, "TYPE h"), "+string\r\n");
        assert_eq!(cmd(&keyspace, "GET h"), "$6\r\nfoobar\r\n");
    }

    /// A write applied to two copies of the same keyspace leaves identical values (what Raft
    /// replicas rely on), PFCOUNT's cache included.
    #[test]
    fn writes_apply_alike_on_two_keyspaces() {
        let replicas = [keyspace_with_a_set(), keyspace_with_a_set()];
        let script = [
            "PFADD hl a b c d e",
            "PFCOUNT hl",
            "PFADD hl2 x y",
            "PFMERGE hl3 hl hl2",
            "PFCOUNT hl3",
            "SETBIT bits 77 1",
            "BITFIELD bits INCRBY i5 3 20 OVERFLOW FAIL SET u2 90 7",
            "BITOP NOT nots bits",
            "SETRANGE s 10 tail",
        ];
        for line in script {
            let replies: Vec<String> = replicas.iter().map(|ks| cmd(ks, line)).collect();
            assert_eq!(replies[0], replies[1], "{line}");
        }
        for key in ["hl", "hl3", "bits", "nots", "s"] {
            let values: Vec<String> = replicas
                .iter()
                .map(|ks| cmd(ks, &format!("GET {key}")))
                .collect();
            assert_eq!(values[0], values[1], "{key}");
        }
        // PFCOUNT stored the cardinality in the value: the cache is valid (byte 15's top bit clear).
        let value = cmd(&replicas[0], "GETRANGE hl 8 15");
        assert_eq!(value, "$8\r\n\x05\x00\x00\x00\x00\x00\x00\x00\r\n");
    }
}

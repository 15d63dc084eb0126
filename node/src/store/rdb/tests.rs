use super::encode::Listpack;
use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// `object` plus a footer with `version` and a correct CRC.
fn seal_v(object: &[u8], version: u16) -> Vec<u8> {
    let mut p = object.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn seal(object: &[u8]) -> Vec<u8> {
    seal_v(object, RDB_VERSION)
}

/// Recomputes the CRC of a (mutated) payload so the parser behind the checksum gets exercised.
fn reseal(p: &[u8]) -> Vec<u8> {
    match p.len().checked_sub(10) {
        Some(n) => seal_v(&p[..n], u16::from_le_bytes([p[n], p[n + 1]])),
        None => p.to_vec(),
    }
}

/// An RDB string with a plain length prefix.
fn rstr(s: &[u8]) -> Vec<u8> {
    let n = s.len();
    let mut out = match n {
        0..64 => vec![n as u8],
        64..16384 => vec![0x40 | (n >> 8) as u8, n as u8],
        _ => [vec![0x80], (n as u32).to_be_bytes().to_vec()].concat(),
    };
    out.extend_from_slice(s);
    out
}

/// A ziplist from already-encoded entries (encoding + data); prevlens and header computed here.
fn ziplist(entries: &[Vec<u8>]) -> Vec<u8> {
    let (mut body, mut prev, mut tail) = (Vec::new(), 0usize, 10usize);
    for e in entries {
        tail = 10 + body.len();
        match prev {
            0..254 => body.push(prev as u8),
            _ => body.extend([vec![0xfe], (prev as u32).to_le_bytes().to_vec()].concat()),
        }
        body.extend_from_slice(e);
        prev = 10 + body.len() - tail;
    }
    let mut zl = ((10 + body.len() + 1) as u32).to_le_bytes().to_vec();
    zl.extend((tail as u32).to_le_bytes());
    zl.extend((entries.len() as u16).to_le_bytes());
    zl.extend(body);
    zl.push(0xff);
    zl
}

fn zs(s: &[u8]) -> Vec<u8> {
    let n = s.len();
    let mut out = match n {
        0..64 => vec![n as u8],
        64..16384 => vec![0x40 | (n >> 8) as u8, n as u8],
        _ => [vec![0x80], (n as u32).to_be_bytes().to_vec()].concat(),
    };
    out.extend_from_slice(s);
    out
}

fn zi(v: i64) -> Vec<u8> {
    match v {
        0..=12 => vec![0xf1 + v as u8],
        _ if i8::try_from(v).is_ok() => vec![0xfe, v as u8],
        _ if i16::try_from(v).is_ok() => [vec![0xc0], (v as i16).to_le_bytes().to_vec()].concat(),
        -8388608..8388608 => [vec![0xf0], (v as i32).to_le_bytes()[..3].to_vec()].concat(),
        _ if i32::try_from(v).is_ok() => [vec![0xd0], (v as i32).to_le_bytes().to_vec()].concat(),
        _ => [vec![0xe0], v.to_le_bytes().to_vec()].concat(),
    }
}

fn lp(items: &[&[u8]]) -> Vec<u8> {
    let mut lp = Listpack::default();
    items.iter().for_each(|i| lp.push(i));
    lp.finish()
}

/// Sets sorted, sorted sets sorted by (score, member): the order-insensitive form.
fn canon(v: DumpValue) -> DumpValue {
    match v {
        DumpValue::Set(mut m) => {
            m.sort();
            DumpValue::Set(m)
        }
        DumpValue::SortedSet(mut p) => {
            p.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            DumpValue::SortedSet(p)
        }
        other => other,
    }
}

fn strings(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| b(s)).collect()
}

fn sample_values() -> Vec<DumpValue> {
    let ints = [
        "0", "127", "128", "-1", "-4096", "4095", "-4097", "32767", "-32769", "8388607",
    ];
    let more = [
        "-8388609",
        "2147483647",
        "2147483648",
        "-9223372036854775808",
        "9223372036854775807",
    ];
    let odd = [
        "",
        "007",
        "-0",
        "+1",
        " 1",
        "1.5",
        "99999999999999999999",
        "abc",
    ];
    let mut small_list: Vec<Vec<u8>> = [&ints[..], &more, &odd]
        .concat()
        .iter()
        .map(|s| b(s))
        .collect();
    small_list.extend([
        vec![b'x'; 63],
        vec![b'y'; 64],
        vec![b'z'; 4095],
        vec![b'w'; 4096],
    ]);
    let big_list: Vec<Vec<u8>> = (0..5000)
        .map(|i| format!("{}", i * 37 % 1000 - 500).into_bytes())
        .chain([vec![7u8; 70_000], vec![]])
        .collect();
    let long = vec![b'v'; 65];
    vec![
        DumpValue::String(vec![]),
        DumpValue::String(b("hello")),
        DumpValue::String(b("-123")),
        DumpValue::String(b("70000")),
        DumpValue::String(b("3000000000")),
        DumpValue::String(b("0123")),
        DumpValue::String((0..=255).cycle().take(100_000).collect()),
        DumpValue::List(small_list),
        DumpValue::List(big_list),
        DumpValue::Set(strings(&["1", "-5", "70000", "5000000000"])),
        DumpValue::Set(strings(&["1", "-5", "x", "007"])),
        DumpValue::Set((0..1000).map(|i| i.to_string().into_bytes()).collect()),
        DumpValue::Hash(vec![
            (b("f"), b("v")),
            (b("1"), b("-70000")),
            (b(""), b("")),
        ]),
        DumpValue::Hash(
            (0..200)
                .map(|i| (format!("f{i}").into_bytes(), b("v")))
                .collect(),
        ),
        DumpValue::Hash(vec![(b("f"), long.clone())]),
        DumpValue::SortedSet(vec![
            (b("a"), 1.0),
            (b("b"), -2.25),
            (b("c"), f64::INFINITY),
            (b("d"), f64::NEG_INFINITY),
            (b("e"), 0.1),
            (b("f"), 1e300),
            (b("g"), -0.0),
            (b("h"), 4503599627370497.0),
            (b("i"), 5e-324),
            (b("j"), 1.0),
        ]),
        DumpValue::SortedSet(
            (0..300)
                .map(|i| (format!("m{i}").into_bytes(), i as f64 / 7.0))
                .collect(),
        ),
        DumpValue::SortedSet(vec![(long, 3.5)]),
    ]
}

#[test]
fn crc64_matches_redis() {
    // The check value from redis src/crc64.c's self-test.
    assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
}

#[test]
fn round_trips_every_type_and_form() {
    let expected_types = [0, 0, 0, 0, 0, 0, 0, 18, 18, 11, 2, 2, 16, 4, 4, 17, 5, 5];
    for (value, kind) in sample_values().into_iter().zip(expected_types) {
        let payload = encode(&value);
        assert_eq!(payload[0], kind, "type for {value:.80?}");
        let back = decode(&payload).unwrap_or_else(|e| panic!("{e} for {value:.80?}"));
        assert_eq!(canon(back.clone()), canon(value.clone()));
        if let (DumpValue::SortedSet(a), DumpValue::SortedSet(b)) = (canon(back), canon(value)) {
            // Bit-exact, so -0.0 and subnormals survive too.
            assert!(
                a.iter()
                    .zip(&b)
                    .all(|(x, y)| x.1.to_bits() == y.1.to_bits())
            );
        }
    }
}

#[test]
fn big_lists_split_into_nodes() {
    let payload = encode(&sample_values()[8]);
    // Type 18, then a 14-bit node count: 5000 small ints and a 70 KB element need several nodes.
    assert!(payload[1] >= 3, "nodes: {}", payload[1]);
}

#[test]
fn listpack_element_encodings_match_redis() {
    let cases: &[(&str, &[u8])] = &[
        ("0", &[0x00, 0x01]),
        ("127", &[0x7f, 0x01]),
        ("128", &[0xc0, 0x80, 0x02]),
        ("-1", &[0xdf, 0xff, 0x02]),
        ("-4096", &[0xd0, 0x00, 0x02]),
        ("4096", &[0xf1, 0x00, 0x10, 0x03]),
        ("-32769", &[0xf2, 0xff, 0x7f, 0xff, 0x04]),
        ("8388608", &[0xf3, 0x00, 0x00, 0x80, 0x00, 0x05]),
        ("2147483648", &[0xf4, 0, 0, 0, 0x80, 0, 0, 0, 0, 0x09]),
        ("abc", &[0x83, b'a', b'b', b'c', 0x04]),
        ("007", &[0x83, b'0', b'0', b'7', 0x04]),
        ("-0", &[0x82, b'-', b'0', 0x03]),
    ];
    for (input, bytes) in cases {
        let blob = lp(&[input.as_bytes()]);
        assert_eq!(&blob[6..blob.len() - 1], *bytes, "{input}");
        assert_eq!(blob[..6], [(bytes.len() + 7) as u8, 0, 0, 0, 1, 0]);
    }
    // 12-bit and 32-bit string headers, 2-byte back-lengths.
    let blob = lp(&[&[b'x'; 200]]);
    assert_eq!((blob[6], blob[7]), (0xe0, 200));
    assert_eq!(blob[blob.len() - 3..], [1, 0x80 | (202 & 127), 0xff]);
    let blob = lp(&[&[b'x'; 4096]]);
    assert_eq!(blob[6..11], [0xf0, 0x00, 0x10, 0, 0]);
    assert_eq!(
        blob[blob.len() - 3..],
        [(4101 >> 7) as u8, 0x80 | (4101 & 127) as u8, 0xff]
    );
    assert_eq!(backlen(16383), ([0, 0xff, 0xff, 0, 0], 3));
}

/// Payloads captured from redis-server 7.0.15 with DUMP (several use LZF-compressed blobs).
#[test]
fn decodes_redis_7_0_dumps() {
    let cases: Vec<(&str, DumpValue)> = vec![
        (
            "00c31243e8016161e0ff00e0ff00e0ff00e0c3000161610a0086c212db54819e3c",
            DumpValue::String(vec![b'a'; 1000]),
        ),
        (
            "00c139300a009d94ea2793fc08b9",
            DumpValue::String(b("12345")),
        ),
        (
            "00c290eefeff0a002875de7b13eb2800",
            DumpValue::String(b("-70000")),
        ),
        (
            "0013393232333337323033363835343737353830370a003a657e9481e85f22",
            DumpValue::String(b("9223372036854775807")),
        ),
        ("00000a005d9b5c400f7fa2da", DumpValue::String(vec![])),
        (
            "0bc32c38040800000006200301fbff80000001200b400000024004200000032003400001a086a01902f2052a200900000a00f371b8fb9200100d",
            DumpValue::Set(strings(&["-5", "1", "2", "3", "100000", "5000000000"])),
        ),
        (
            "0b100200000004000000008001000200ff7f0a00e88f5fe891542efc",
            DumpValue::Set(strings(&["-32768", "1", "2", "32767"])),
        ),
        (
            "102525000000080082663103827631038266320302010301f280e5f904800185656d70747906ff0a00cc8a9c157452322a",
            DumpValue::Hash(vec![
                (b("f1"), b("v1")),
                (b("f2"), b("2")),
                (b("3"), b("-400000")),
                (b(""), b("empty")),
            ]),
        ),
        (
            "0501c3094064016d6de05700016d6d000000000000f03f0a002be365cb68682632",
            DumpValue::SortedSet(vec![(vec![b'm'; 100], 1.0)]),
        ),
    ];
    for (payload, expected) in cases {
        assert_eq!(decode(&hex(payload)), Ok(expected));
    }
    let list = "120202c3409a50e21fe210000013000101dfff02c08002f1001003f1ffef03f2409c0004f2ffff7f0406f200008004f3ff200a0105f44005200301ff0940094000037f09f4008000148009800183666f6f04833030370483312e3504bf78e035000340e04079e036000342efff7ae0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e07d00022081ff02c34041500e070e1000000100f00020060077e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e0ff00e07e00022085ff0a0037a7c124ecef91d1";
    let mut items = strings(&[
        "1", "-1", "128", "4096", "-4097", "40000", "8388607", "-8388608",
    ]);
    items.extend(strings(&[
        "2147483647",
        "-2147483649",
        "9223372036854775807",
    ]));
    items.extend(strings(&["-9223372036854775808", "", "foo", "007", "1.5"]));
    items.extend([
        vec![b'x'; 63],
        vec![b'y'; 64],
        vec![b'z'; 4095],
        vec![b'w'; 4096],
    ]);
    assert_eq!(decode(&hex(list)), Ok(DumpValue::List(items)));
    let zset = "11c3408c40a81fa80000001a00816602842d696e6605816302852d322e3235068168020001816a4004056c0297392e39e0030010363934652d3331311881670293302e3130e005001c3114816102010181620283312e3504816b020301816d02f4141a99be1c20700509816902f401200802000010200c04640297312ee005410b3031652b333030188165028320970104ff0a00154f52cf4030cfd8";
    let Ok(DumpValue::SortedSet(pairs)) = decode(&hex(zset)) else {
        panic!("zset")
    };
    let names: Vec<&[u8]> = pairs.iter().map(|p| p.0.as_slice()).collect();
    assert_eq!(
        names,
        [
            b"f", b"c", b"h", b"j", b"l", b"g", b"a", b"b", b"k", b"m", b"i", b"d", b"e"
        ]
    );
    let scores: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let expected = [
        f64::NEG_INFINITY,
        -2.25,
        0.0,
        -0.0,
        1e-310,
        0.1,
        1.0,
        1.5,
        3.0,
        123456789012.0,
    ];
    assert_eq!(scores[..10], expected);
    assert_eq!(scores[10..], [4503599627370497.0, 1e300, f64::INFINITY]);
}

#[test]
fn decodes_legacy_and_7_2_encodings() {
    let ints = [0, 12, 13, -1, 300, -40000, 8388607, 2147483647, i64::MIN];
    let mut entries: Vec<Vec<u8>> = ints.iter().map(|&v| zi(v)).collect();
    entries.extend([zs(b"a"), zs(&[b'q'; 300]), zs(&[b'r'; 20000]), zs(b"")]);
    let mut expected: Vec<Vec<u8>> = ints.iter().map(|v| v.to_string().into_bytes()).collect();
    expected.extend([b("a"), vec![b'q'; 300], vec![b'r'; 20000], vec![]]);
    let zl = ziplist(&entries);
    // The 20000-byte entry makes the next prevlen take 5 bytes.
    assert_eq!(
        decode(&seal(&[&[10][..], &rstr(&zl)].concat())),
        Ok(DumpValue::List(expected.clone()))
    );
    // Quicklist v1: ziplist nodes; an empty node is skipped as Redis does.
    let ql = [
        &[14, 3][..],
        &rstr(&zl),
        &rstr(&ziplist(&[])),
        &rstr(&ziplist(&[zs(b"z")])),
    ]
    .concat();
    let mut with_z = expected.clone();
    with_z.push(b("z"));
    assert_eq!(decode(&seal(&ql)), Ok(DumpValue::List(with_z)));
    // Quicklist v2 with a plain node between listpack nodes, in a 7.2 (version 11) payload.
    let q2 = [
        &[18, 3, 2][..],
        &rstr(&lp(&[b"1", b"x"])),
        &[1],
        &rstr(b"plain"),
        &[2],
        &rstr(&lp(&[b"y"])),
    ]
    .concat();
    assert_eq!(
        decode(&seal_v(&q2, 11)),
        Ok(DumpValue::List(strings(&["1", "x", "plain", "y"])))
    );
    // Plain list (type 1) and plain set (type 2) with an integer-encoded element.
    let list = [&[1, 2][..], &rstr(b"a"), &[0xc0, 0xfb]].concat();
    assert_eq!(
        decode(&seal(&list)),
        Ok(DumpValue::List(strings(&["a", "-5"])))
    );
    // Set listpack (Redis 7.2, type 20).
    let set = [&[20][..], &rstr(&lp(&[b"a", b"1", b"-70000"]))].concat();
    assert_eq!(
        decode(&seal_v(&set, 11)),
        Ok(DumpValue::Set(strings(&["a", "1", "-70000"])))
    );
    // Hash and zset ziplists (types 13, 12); zset scores as integers or strings.
    let hz = ziplist(&[zs(b"f"), zs(b"v"), zs(b"n"), zi(-7)]);
    let hash = DumpValue::Hash(vec![(b("f"), b("v")), (b("n"), b("-7"))]);
    assert_eq!(
        decode(&seal(&[&[13][..], &rstr(&hz)].concat())),
        Ok(hash.clone())
    );
    let zz = ziplist(&[zs(b"a"), zi(-3), zs(b"b"), zs(b"2.5"), zs(b"c"), zs(b"inf")]);
    let zset = DumpValue::SortedSet(vec![(b("a"), -3.0), (b("b"), 2.5), (b("c"), f64::INFINITY)]);
    assert_eq!(
        decode(&seal(&[&[12][..], &rstr(&zz)].concat())),
        Ok(zset.clone())
    );
    // Zipmap (type 9): free bytes after a value, and a 254+ length in its 5-byte form.
    let mut zm = vec![2, 1, b'f', 1, 2, b'v', 0, 0, 1, b'g', 254];
    zm.extend(300u32.to_le_bytes());
    zm.push(0);
    zm.extend([b'w'; 300]);
    zm.push(0xff);
    let zipmap = DumpValue::Hash(vec![(b("f"), b("v")), (b("g"), vec![b'w'; 300])]);
    assert_eq!(decode(&seal(&[&[9][..], &rstr(&zm)].concat())), Ok(zipmap));
    // Type 3 zset: scores as length-prefixed strings or the 254/255 infinity markers.
    let z3 = [
        &[3, 3][..],
        &rstr(b"a"),
        &[3],
        b"1.5",
        &rstr(b"b"),
        &[254],
        &rstr(b"c"),
        &[255],
    ]
    .concat();
    let zset3 = vec![
        (b("a"), 1.5),
        (b("b"), f64::INFINITY),
        (b("c"), f64::NEG_INFINITY),
    ];
    assert_eq!(decode(&seal(&z3)), Ok(DumpValue::SortedSet(zset3)));
}

#[test]
fn rejects_bad_payloads() {
    let good = encode(&DumpValue::String(b("hello")));
    let n = good.len();
    assert_eq!(decode(&good[..9]), Err(DumpError::TooShort));
    let mut bad_crc = good.clone();
    bad_crc[n - 1] ^= 1;
    assert_eq!(decode(&bad_crc), Err(DumpError::BadChecksum));
    let mut zero_crc = good.clone();
    zero_crc[n - 8..].fill(0);
    // As Redis's RESTORE: an all-zero checksum is a wrong checksum.
    assert_eq!(decode(&zero_crc), Err(DumpError::BadChecksum));
    assert_eq!(
        decode(&seal_v(&good[..n - 10], 12)),
        Err(DumpError::UnsupportedVersion(12))
    );
    assert_eq!(decode(&seal(&[])), Err(DumpError::Truncated));
    assert_eq!(decode(&seal(&[0, 5, b'a'])), Err(DumpError::Truncated));
    assert_eq!(
        decode(&seal(&[0, 1, b'a', b'b'])),
        Err(DumpError::TrailingBytes)
    );
    assert_eq!(decode(&seal(&[7, 0])), Err(DumpError::UnsupportedType(7)));
    assert_eq!(decode(&seal(&[15, 0])), Err(DumpError::UnsupportedType(15)));
    assert_eq!(decode(&seal(&[0, 0xc4])), Err(DumpError::BadStringEncoding));
    assert_eq!(decode(&seal(&[0, 0x82])), Err(DumpError::BadLength));
    assert_eq!(decode(&seal(&[2, 0])), Err(DumpError::EmptyCollection));
    assert_eq!(
        decode(&seal(&[2, 2, 1, b'a', 1, b'a'])),
        Err(DumpError::DuplicateMember)
    );
    assert_eq!(
        decode(&seal(&[3, 1, 1, b'a', 253])),
        Err(DumpError::BadScore)
    );
    assert_eq!(
        decode(&seal(&[3, 1, 1, b'a', 1, b'x'])),
        Err(DumpError::BadScore)
    );
    assert_eq!(
        decode(&seal(&[18, 1, 3, 1, b'a'])),
        Err(DumpError::BadQuicklistNode)
    );
    let odd = [&[16][..], &rstr(&lp(&[b"f"]))].concat();
    assert_eq!(decode(&seal(&odd)), Err(DumpError::UnpairedElement));
    // Hostile lengths fail before any allocation: a 2^64-1 byte string, a 2^32 element set,
    // and LZF data claiming a 4 GiB output from 2 bytes.
    let huge = [&[0, 0x81][..], &u64::MAX.to_be_bytes(), b"x"].concat();
    assert_eq!(decode(&seal(&huge)), Err(DumpError::Truncated));
    let many = [&[2, 0x80][..], &u32::MAX.to_be_bytes(), &[1, b'a']].concat();
    assert_eq!(decode(&seal(&many)), Err(DumpError::BadLength));
    let lzf = [&[0, 0xc3, 2, 0x80][..], &u32::MAX.to_be_bytes(), &[0, b'a']].concat();
    assert_eq!(decode(&seal(&lzf)), Err(DumpError::BadLzf));
    // LZF back reference before the start of the output.
    assert_eq!(
        decode(&seal(&[0, 0xc3, 2, 3, 0x20, 0x00])),
        Err(DumpError::BadLzf)
    );
    // Blob integrity: listpack back-length, ziplist prevlen, unsorted intset, zipmap count.
    let mut bad_lp = lp(&[b"abc"]);
    bad_lp[10] = 5;
    assert_eq!(
        decode(&seal(&[&[20][..], &rstr(&bad_lp)].concat())),
        Err(DumpError::BadListpack)
    );
    let mut bad_zl = ziplist(&[zs(b"a"), zs(b"b")]);
    bad_zl[13] = 9;
    assert_eq!(
        decode(&seal(&[&[10][..], &rstr(&bad_zl)].concat())),
        Err(DumpError::BadZiplist)
    );
    let intset = [&2u32.to_le_bytes()[..], &2u32.to_le_bytes(), &[5, 0, 1, 0]].concat();
    assert_eq!(
        decode(&seal(&[&[11][..], &rstr(&intset)].concat())),
        Err(DumpError::BadIntset)
    );
    let zm = [3, 1, b'f', 1, 0, b'v', 0xff];
    assert_eq!(
        decode(&seal(&[&[9][..], &rstr(&zm)].concat())),
        Err(DumpError::BadZipmap)
    );
    assert_eq!(
        DumpError::BadChecksum.redis_message(),
        "ERR DUMP payload version or checksum are wrong"
    );
    assert_eq!(
        DumpError::UnsupportedVersion(12).redis_message(),
        "ERR DUMP payload version or checksum are wrong"
    );
    assert_eq!(DumpError::Truncated.redis_message(), "ERR Bad data format");
}

/// Every valid payload, cut short anywhere and resealed, is an error and never a panic.
#[test]
fn truncations_are_errors() {
    for value in sample_values().iter().take(16) {
        let payload = encode(value);
        let body = &payload[..payload.len() - 10];
        let step = (body.len() / 300).max(1);
        for cut in (0..body.len()).step_by(step) {
            assert!(
                decode(&seal(&body[..cut])).is_err(),
                "cut at {cut} of {value:.60?}"
            );
        }
    }
}

/// Deterministic fuzzing: mutate valid payloads (mostly resealing the CRC so the object parser
/// sees the damage) and require decode to return, and anything it accepts to re-encode cleanly.
#[test]
fn fuzzed_payloads_never_panic() {
    let mut seeds: Vec<Vec<u8>> = sample_values()
        .iter()
        .filter(|v| encode(v).len() < 20_000)
        .map(encode)
        .collect();
    let zl = ziplist(&[
        zs(b"a"),
        zi(1),
        zs(b"b"),
        zi(-300),
        zs(&[b'c'; 70]),
        zi(70000),
    ]);
    for kind in [10u8, 13, 12] {
        seeds.push(seal(&[&[kind][..], &rstr(&zl)].concat()));
    }
    seeds.push(seal(&[&[14, 1][..], &rstr(&zl)].concat()));
    seeds.push(seal(
        &[&[9][..], &rstr(&[1, 1, b'f', 1, 1, b'v', 0, 0xff])].concat(),
    ));
    seeds.push(seal(
        &[
            &[
                0, 0xc3, 0x12, 0x43, 0xe8, 0x01, 0x61, 0x61, 0xe0, 0xff, 0x00,
            ][..],
            &[
                0xe0, 0xff, 0x00, 0xe0, 0xff, 0x00, 0xe0, 0xc3, 0x00, 0x01, 0x61, 0x61,
            ],
        ]
        .concat(),
    ));
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut rand = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut accepted = 0;
    for seed in &seeds {
        for _ in 0..1500 {
            let mut p = seed.clone();
            for _ in 0..1 + rand(3) {
                let at = rand(p.len().max(1));
                match rand(6) {
                    0 if !p.is_empty() => p[at] ^= 1 << rand(8),
                    1 if !p.is_empty() => p[at] = rand(256) as u8,
                    2 => p.truncate(at),
                    3 => p.insert(at.min(p.len()), rand(256) as u8),
                    4 if at < p.len() => drop(p.remove(at)),
                    _ if !p.is_empty() => {
                        p[at] = [0x00, 0x3f, 0x40, 0x7f, 0x80, 0xfe, 0xff][rand(7)]
                    }
                    _ => {}
                }
            }
            if rand(10) != 0 {
                p = reseal(&p);
            }
            if let Ok(value) = decode(&p) {
                accepted += 1;
                assert_eq!(canon(decode(&encode(&value)).unwrap()), canon(value));
            }
        }
    }
    assert!(accepted > 0, "the mutations should sometimes stay valid");
}

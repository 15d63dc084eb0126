use super::tree::Caps;
use super::*;

type Owned = Vec<(Vec<u8>, f64)>;

fn owned<'a>(items: impl Iterator<Item = (&'a [u8], f64)>) -> Owned {
    items.map(|(m, s)| (m.to_vec(), s)).collect()
}

fn pairs(items: &[(&str, f64)]) -> Owned {
    items
        .iter()
        .map(|(m, s)| (m.as_bytes().to_vec(), *s))
        .collect()
}

fn incl(v: f64) -> ScoreBound {
    ScoreBound::Inclusive(v)
}

fn excl(v: f64) -> ScoreBound {
    ScoreBound::Exclusive(v)
}

fn lex(text: &str) -> LexBound {
    parse_lex_bound(text.as_bytes()).expect("valid lex bound")
}

const INF: f64 = f64::INFINITY;

/// The same contents in every representation the tests can make: small, large with production
/// node sizes, and large with tiny nodes (a deep tree).
fn all_shapes(items: &[(&str, f64)]) -> Vec<SortedSet> {
    let tiny = Caps {
        leaf: 4,
        inner: 4,
        keep_large: true,
    };
    let big = Caps {
        leaf: 64,
        inner: 64,
        keep_large: true,
    };
    let mut shapes = vec![
        SortedSet::new(),
        SortedSet::new_large_for_test(big),
        SortedSet::new_large_for_test(tiny),
    ];
    for set in &mut shapes {
        for (member, score) in items {
            set.insert(member.as_bytes(), *score);
        }
        set.check();
    }
    shapes
}

#[test]
fn entry_layout_is_compact() {
    if cfg!(target_pointer_width = "64") {
        assert_eq!(std::mem::size_of::<Key>(), 24);
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        assert!(std::mem::size_of::<SortedSet>() <= 40);
    }
}

#[test]
fn insert_reports_added_updated_unchanged() {
    let mut set = SortedSet::new();
    assert!(set.is_empty());
    assert_eq!(set.insert(b"a", 1.0), InsertOutcome::Added);
    assert_eq!(set.insert(b"a", 1.0), InsertOutcome::Unchanged);
    assert_eq!(set.insert(b"a", 2.5), InsertOutcome::Updated { old: 1.0 });
    assert_eq!(set.score(b"a"), Some(2.5));
    assert_eq!(set.insert(b"a", f64::NAN), InsertOutcome::Rejected);
    assert_eq!(set.score(b"a"), Some(2.5));
    assert_eq!(set.len(), 1);
    assert_eq!(set.score(b"missing"), None);
    assert!(set.contains(b"a"));
}

#[test]
fn negative_zero_is_stored_as_zero_and_equals_zero() {
    for mut set in all_shapes(&[]) {
        assert_eq!(set.insert(b"a", -0.0), InsertOutcome::Added);
        assert!(
            set.score(b"a")
                .is_some_and(|s| s == 0.0 && s.is_sign_positive())
        );
        assert_eq!(set.insert(b"a", 0.0), InsertOutcome::Unchanged);
        assert_eq!(set.insert(b"b", 0.0), InsertOutcome::Added);
        assert_eq!(set.insert(b"b", -0.0), InsertOutcome::Unchanged);
        assert_eq!(format_score(set.score(b"b").unwrap_or(1.0)), "0");
    }
}

#[test]
fn ties_are_broken_by_member_bytes() {
    for set in all_shapes(&[
        ("b", 1.0),
        ("a", 1.0),
        ("c", 0.0),
        ("aa", 1.0),
        ("", 1.0),
        ("\u{ff}", 1.0),
    ]) {
        let order: Vec<Vec<u8>> = set.iter().map(|(m, _)| m.to_vec()).collect();
        let expected: Vec<&[u8]> = vec![b"c", b"", b"a", b"aa", b"b", "\u{ff}".as_bytes()];
        assert_eq!(order, expected);
        assert_eq!(set.rank(b"aa"), Some(3));
        assert_eq!(set.rank(b"c"), Some(0));
        assert_eq!(set.rank(b"zz"), None);
    }
}

#[test]
fn rank_follows_updates() {
    for mut set in all_shapes(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)]) {
        assert_eq!(set.rank(b"a"), Some(0));
        assert_eq!(set.insert(b"a", 10.0), InsertOutcome::Updated { old: 1.0 });
        assert_eq!(set.rank(b"a"), Some(4));
        assert_eq!(set.rank(b"b"), Some(0));
        // A small move that keeps the order (updated in place in a large set).
        assert_eq!(set.insert(b"c", 3.5), InsertOutcome::Updated { old: 3.0 });
        assert_eq!(set.rank(b"c"), Some(1));
        assert_eq!(set.insert(b"e", -1.0), InsertOutcome::Updated { old: 5.0 });
        assert_eq!(set.rank(b"e"), Some(0));
        assert_eq!(set.nth(4), Some((&b"a"[..], 10.0)));
        set.check();
    }
}

#[test]
fn remove_returns_the_score() {
    for mut set in all_shapes(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]) {
        assert_eq!(set.remove(b"b"), Some(2.0));
        assert_eq!(set.remove(b"b"), None);
        assert_eq!(owned(set.iter()), pairs(&[("a", 1.0), ("c", 3.0)]));
        assert_eq!(set.rank(b"c"), Some(1));
        set.check();
    }
}

#[test]
fn range_by_rank_forward_reverse_and_clamped() {
    let items = [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)];
    for set in all_shapes(&items) {
        assert_eq!(
            owned(set.range_by_rank(1, 3, false)),
            pairs(&[("b", 2.0), ("c", 3.0), ("d", 4.0)])
        );
        assert_eq!(
            owned(set.range_by_rank(0, 1, true)),
            pairs(&[("e", 5.0), ("d", 4.0)])
        );
        assert_eq!(
            owned(set.range_by_rank(3, 100, false)),
            pairs(&[("d", 4.0), ("e", 5.0)])
        );
        assert_eq!(
            owned(set.range_by_rank(3, 100, true)),
            pairs(&[("b", 2.0), ("a", 1.0)])
        );
        assert_eq!(set.range_by_rank(5, 9, false).count(), 0);
        assert_eq!(set.range_by_rank(3, 2, false).count(), 0);
        let range = set.range_by_rank(1, 3, false);
        assert_eq!(range.len(), 3);
        assert_eq!(
            owned(range.rev()),
            pairs(&[("d", 4.0), ("c", 3.0), ("b", 2.0)])
        );
    }
}

#[test]
fn resolve_index_range_matches_redis() {
    assert_eq!(resolve_index_range(0, -1, 5), Some((0, 4)));
    assert_eq!(resolve_index_range(-2, -1, 5), Some((3, 4)));
    assert_eq!(resolve_index_range(-100, 2, 5), Some((0, 2)));
    assert_eq!(resolve_index_range(1, 100, 5), Some((1, 4)));
    assert_eq!(resolve_index_range(5, 10, 5), None);
    assert_eq!(resolve_index_range(3, 1, 5), None);
    assert_eq!(resolve_index_range(0, -6, 5), None);
    assert_eq!(resolve_index_range(0, -1, 0), None);
    assert_eq!(resolve_index_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
}

#[test]
fn range_by_score_bounds() {
    let items = [
        ("a", -INF),
        ("b", 1.0),
        ("c", 1.5),
        ("d", 2.0),
        ("e", 2.0),
        ("f", INF),
    ];
    for set in all_shapes(&items) {
        let get = |min, max| owned(set.range_by_score(min, max, false, 0, None));
        assert_eq!(
            get(incl(1.0), incl(2.0)),
            pairs(&[("b", 1.0), ("c", 1.5), ("d", 2.0), ("e", 2.0)])
        );
        assert_eq!(
            get(excl(1.0), incl(2.0)),
            pairs(&[("c", 1.5), ("d", 2.0), ("e", 2.0)])
        );
        assert_eq!(get(incl(1.0), excl(2.0)), pairs(&[("b", 1.0), ("c", 1.5)]));
        assert_eq!(get(excl(1.0), excl(2.0)), pairs(&[("c", 1.5)]));
        assert_eq!(get(incl(-INF), incl(INF)).len(), 6);
        assert_eq!(get(excl(-INF), excl(INF)).len(), 4);
        assert_eq!(get(incl(INF), incl(INF)), pairs(&[("f", INF)]));
        assert_eq!(get(incl(2.0), incl(1.0)), vec![]);
        assert_eq!(get(excl(2.0), incl(2.0)), vec![]);
        assert_eq!(set.count_by_score(incl(1.0), incl(2.0)), 4);
        assert_eq!(set.count_by_score(excl(1.0), excl(2.0)), 1);
        assert_eq!(set.count_by_score(incl(-INF), incl(INF)), 6);
        assert_eq!(set.count_by_score(incl(3.0), incl(1.0)), 0);
        assert_eq!(set.count_by_score(excl(1.5), excl(1.5)), 0);
        assert_eq!(set.count_by_score(incl(1.5), incl(1.5)), 1);
    }
}

#[test]
fn range_by_score_reverse_with_offset_and_limit() {
    let items = [
        ("a", 1.0),
        ("b", 2.0),
        ("c", 3.0),
        ("d", 4.0),
        ("e", 5.0),
        ("f", 5.0),
    ];
    for set in all_shapes(&items) {
        let get = |reverse, offset, limit| {
            owned(set.range_by_score(incl(2.0), incl(5.0), reverse, offset, limit))
        };
        assert_eq!(get(false, 1, Some(2)), pairs(&[("c", 3.0), ("d", 4.0)]));
        assert_eq!(get(false, 3, None), pairs(&[("e", 5.0), ("f", 5.0)]));
        assert_eq!(get(false, 5, None), vec![]);
        assert_eq!(get(false, 0, Some(0)), vec![]);
        assert_eq!(
            get(true, 0, None),
            pairs(&[("f", 5.0), ("e", 5.0), ("d", 4.0), ("c", 3.0), ("b", 2.0)])
        );
        assert_eq!(get(true, 1, Some(2)), pairs(&[("e", 5.0), ("d", 4.0)]));
        assert_eq!(get(true, 4, Some(10)), pairs(&[("b", 2.0)]));
        assert_eq!(get(true, 5, Some(10)), vec![]);
        assert_eq!(get(true, usize::MAX, Some(usize::MAX)), vec![]);
        assert_eq!(get(false, usize::MAX, Some(usize::MAX)), vec![]);
    }
}

#[test]
fn range_by_lex_bounds_reverse_offset_limit() {
    let items = [
        ("a", 0.0),
        ("b", 0.0),
        ("c", 0.0),
        ("d", 0.0),
        ("e", 0.0),
        ("f", 0.0),
        ("g", 0.0),
    ];
    for set in all_shapes(&items) {
        let get = |min: &str, max: &str, reverse, offset, limit| {
            let members: Vec<Vec<u8>> = set
                .range_by_lex(&lex(min), &lex(max), reverse, offset, limit)
                .map(|(m, _)| m.to_vec())
                .collect();
            String::from_utf8(members.concat()).unwrap_or_default()
        };
        assert_eq!(get("-", "[c", false, 0, None), "abc");
        assert_eq!(get("-", "(c", false, 0, None), "ab");
        assert_eq!(get("[aaa", "(g", false, 0, None), "bcdef");
        assert_eq!(get("(b", "+", false, 0, None), "cdefg");
        assert_eq!(get("-", "+", false, 2, Some(3)), "cde");
        assert_eq!(get("-", "+", true, 0, None), "gfedcba");
        assert_eq!(get("[b", "[f", true, 1, Some(2)), "ed");
        assert_eq!(get("(b", "(f", true, 0, None), "edc");
        assert_eq!(get("[c", "[c", false, 0, None), "c");
        assert_eq!(get("(c", "[c", false, 0, None), "");
        assert_eq!(get("[e", "[c", false, 0, None), "");
        assert_eq!(get("+", "-", false, 0, None), "");
        assert_eq!(get("-", "-", false, 0, None), "");
        assert_eq!(get("+", "+", false, 0, None), "");
        assert_eq!(get("[z", "+", false, 0, None), "");
        assert_eq!(get("-", "(a", false, 0, None), "");
        assert_eq!(get("-", "+", false, 7, None), "");
        assert_eq!(get("-", "+", true, 6, None), "a");
        assert_eq!(set.count_by_lex(&lex("-"), &lex("+")), 7);
        assert_eq!(set.count_by_lex(&lex("[b"), &lex("(e")), 3);
        assert_eq!(set.count_by_lex(&lex("(g"), &lex("+")), 0);
        assert_eq!(set.count_by_lex(&lex("[c"), &lex("[b")), 0);
    }
}

#[test]
fn lex_over_unequal_scores_is_the_same_in_every_shape() {
    // Outside Redis's contract, but replicas with differently shaped trees must still agree.
    let mut items = Vec::new();
    let names: Vec<String> = (0..300)
        .map(|i| format!("k{:03}", (i * 7919) % 300))
        .collect();
    for (i, name) in names.iter().enumerate() {
        items.push((name.as_str(), (i % 13) as f64));
    }
    let shapes = all_shapes(&items);
    for (min, max) in [
        ("-", "+"),
        ("[k050", "(k200"),
        ("(k100", "[k299"),
        ("[k000", "[k001"),
    ] {
        for reverse in [false, true] {
            let answers: Vec<Owned> = shapes
                .iter()
                .map(|s| owned(s.range_by_lex(&lex(min), &lex(max), reverse, 3, Some(40))))
                .collect();
            assert!(
                answers.windows(2).all(|w| w[0] == w[1]),
                "{min} {max} {reverse}"
            );
            let counts: Vec<usize> = shapes
                .iter()
                .map(|s| s.count_by_lex(&lex(min), &lex(max)))
                .collect();
            assert!(counts.windows(2).all(|w| w[0] == w[1]));
        }
    }
    // Converted back to small, still the same answers.
    let mut shrunk = shapes;
    for set in &mut shrunk {
        for (name, _) in items.iter().take(250) {
            set.remove(name.as_bytes());
        }
        set.check();
    }
    let answers: Vec<Owned> = shrunk
        .iter()
        .map(|s| owned(s.range_by_lex(&lex("[k1"), &lex("+"), false, 0, None)))
        .collect();
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn pop_min_and_max() {
    let items = [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)];
    for mut set in all_shapes(&items) {
        assert_eq!(set.pop(2, false), pairs(&[("a", 1.0), ("b", 2.0)]));
        assert_eq!(set.pop(1, true), pairs(&[("d", 4.0)]));
        assert_eq!(set.pop(0, true), vec![]);
        assert_eq!(set.pop(10, true), pairs(&[("c", 3.0)]));
        assert!(set.is_empty());
        assert_eq!(set.pop(1, false), vec![]);
        set.check();
    }
}

#[test]
fn remove_ranges() {
    let items = [
        ("a", 1.0),
        ("b", 2.0),
        ("c", 3.0),
        ("d", 4.0),
        ("e", 5.0),
        ("f", 6.0),
    ];
    for mut set in all_shapes(&items) {
        assert_eq!(set.remove_range_by_rank(1, 2), 2);
        assert_eq!(
            owned(set.iter()),
            pairs(&[("a", 1.0), ("d", 4.0), ("e", 5.0), ("f", 6.0)])
        );
        assert_eq!(set.remove_range_by_score(excl(4.0), incl(INF)), 2);
        assert_eq!(owned(set.iter()), pairs(&[("a", 1.0), ("d", 4.0)]));
        assert_eq!(set.remove_range_by_rank(5, 9), 0);
        assert_eq!(set.remove_range_by_score(incl(2.0), incl(1.0)), 0);
        set.check();
    }
    let lex_items = [("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0)];
    for mut set in all_shapes(&lex_items) {
        assert_eq!(set.remove_range_by_lex(&lex("(a"), &lex("[c")), 2);
        assert_eq!(owned(set.iter()), pairs(&[("a", 0.0), ("d", 0.0)]));
        assert_eq!(set.remove_range_by_lex(&lex("+"), &lex("-")), 0);
        assert_eq!(set.remove_range_by_lex(&lex("-"), &lex("+")), 2);
        assert!(set.is_empty());
        set.check();
    }
}

#[test]
fn nth_iter_first_last() {
    for set in all_shapes(&[("x", 3.0), ("y", 1.0), ("z", 2.0)]) {
        assert_eq!(set.nth(0), Some((&b"y"[..], 1.0)));
        assert_eq!(set.nth(2), Some((&b"x"[..], 3.0)));
        assert_eq!(set.nth(3), None);
        assert_eq!(set.first(), Some((&b"y"[..], 1.0)));
        assert_eq!(set.last(), Some((&b"x"[..], 3.0)));
        let mut iter = set.iter();
        assert_eq!(iter.len(), 3);
        assert_eq!(iter.next_back(), Some((&b"x"[..], 3.0)));
        assert_eq!(iter.next(), Some((&b"y"[..], 1.0)));
        assert_eq!(iter.next(), Some((&b"z"[..], 2.0)));
        assert_eq!(iter.next(), None);
        assert_eq!(iter.next_back(), None);
    }
    let empty = SortedSet::new();
    assert_eq!(empty.first(), None);
    assert_eq!(empty.last(), None);
    assert_eq!(empty.iter().count(), 0);
}

#[test]
fn grows_large_and_shrinks_small_keeping_contents() {
    let mut set = SortedSet::new();
    for i in 0..1000u32 {
        set.insert(format!("member:{i}").as_bytes(), f64::from(i % 97));
    }
    assert!(set.is_large());
    set.check();
    let before = owned(set.iter());
    let mut model = before.clone();
    for i in (0..1000u32).filter(|i| i % 3 != 0) {
        let member = format!("member:{i}");
        assert!(set.remove(member.as_bytes()).is_some());
        model.retain(|(m, _)| m != member.as_bytes());
    }
    set.check();
    assert_eq!(owned(set.iter()), model);
    while set.len() > 10 {
        set.pop(7, set.len().is_multiple_of(2));
    }
    assert!(!set.is_large());
    set.check();
}

#[test]
fn long_members_are_boxed_and_accounted() {
    let long = vec![b'x'; 100];
    let mut set = SortedSet::new();
    let base = set.estimated_size();
    set.insert(&long, 1.0);
    set.insert(b"short", 2.0);
    assert!(set.estimated_size() >= base + 100);
    assert_eq!(set.score(&long), Some(1.0));
    set.check();
    assert_eq!(set.pop(1, false), vec![(long.clone(), 1.0)]);
    set.check();
}

#[test]
fn estimated_size_depends_only_on_contents() {
    let mut grown = SortedSet::new();
    for i in 0..5000u32 {
        grown.insert(format!("member:{i}").as_bytes(), f64::from(i));
    }
    for i in 2000..5000u32 {
        grown.remove(format!("member:{i}").as_bytes());
    }
    let mut direct = SortedSet::new();
    for i in (0..2000u32).rev() {
        direct.insert(format!("member:{i}").as_bytes(), f64::from(i));
    }
    assert_eq!(grown, direct);
    assert_eq!(grown.estimated_size(), direct.estimated_size());
    let per_member = direct.estimated_size() / 2000;
    assert!((50..80).contains(&per_member), "{per_member}");
}

#[test]
fn sequential_loads_pack_leaves() {
    let caps = Caps {
        leaf: 64,
        inner: 64,
        keep_large: true,
    };
    for descending in [false, true] {
        let mut set = SortedSet::new_large_for_test(caps);
        for i in 0..10_000u32 {
            let score = if descending {
                -f64::from(i)
            } else {
                f64::from(i)
            };
            set.insert(format!("m{i}").as_bytes(), score);
        }
        set.check();
        let Repr::Large(tree) = &set.repr else {
            unreachable!()
        };
        assert!(
            tree.leaf_count() <= 10_000 / 64 + 2,
            "{}",
            tree.leaf_count()
        );
    }
}

#[test]
// Some values are written out exactly (binary ties), which is the point of the case.
#[allow(clippy::excessive_precision)]
fn format_score_matches_redis() {
    // Each expected string is what redis-server 7.0.15 replied to ZADD then ZSCORE.
    let cases: &[(f64, &str)] = &[
        (1.0, "1"),
        (1.5, "1.5"),
        (0.1, "0.10000000000000001"),
        (1.1, "1.1000000000000001"),
        (3.0e20, "3e+20"),
        (-0.0, "-0"),
        (0.0, "0"),
        (1e-7, "9.9999999999999995e-08"),
        (123456789012345678.0, "1.2345678901234568e+17"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (16.0, "16"),
        (0.125, "0.125"),
        (1e-310, "9.9999999999999694e-311"),
        (0.5, "0.5"),
        (5.0, "5"),
        // 1 + 2^-17 = 1.00000762939453125: an exact tie at 17 digits, rounded to even.
        (1.0 + 2f64.powi(-17), "1.0000076293945312"),
        (2.5e-5, "2.5000000000000001e-05"),
        (1e16, "10000000000000000"),
        (1e17, "1e+17"),
        (12345678901234567890.0, "1.2345678901234567e+19"),
        (0.000123, "0.00012300000000000001"),
        (100000.0, "100000"),
        (1e15, "1000000000000000"),
        (1e-5, "1.0000000000000001e-05"),
        (8.0, "8"),
        (-2.5, "-2.5"),
        (-123456.0, "-123456"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "4.9406564584124654e-324"),
        (0.0001, "0.0001"),
        (123.456, "123.456"),
        (-1e-4, "-0.0001"),
    ];
    for &(score, expected) in cases {
        assert_eq!(format_score(score), expected, "{score:e}");
        let mut out = b"x".to_vec();
        append_score(&mut out, score);
        assert_eq!(&out[1..], expected.as_bytes());
    }
}

#[test]
fn parse_score_matches_redis() {
    // Accepted and rejected exactly as redis-server 7.0.15's ZADD did.
    let accepted: &[(&str, f64)] = &[
        ("1", 1.0),
        ("-1.5", -1.5),
        ("1.5", 1.5),
        ("3.0e20", 3e20),
        ("-0", -0.0),
        ("1e3", 1000.0),
        ("1E+3", 1000.0),
        ("inf", INF),
        ("+inf", INF),
        ("-inf", -INF),
        ("Infinity", INF),
        ("-INFINITY", -INF),
        ("0x10", 16.0),
        ("0X1P3", 8.0),
        ("0x1p-3", 0.125),
        ("0x.8", 0.5),
        ("0x1.8p1", 3.0),
        ("0e-400", 0.0),
        ("1e-310", 1e-310),
        ("+.5", 0.5),
        ("5.", 5.0),
        ("123456789012345678", 123456789012345678.0),
        ("0x1p-1074", 5e-324),
        ("0x1.fffffffffffff8p0", 2.0),
        ("0x1.00000000000008p0", 1.0),
        ("0x1.00000000000018p0", 1.0000000000000004),
        ("0x123456789abcdef123p0", 3.358127276707303e20),
    ];
    for &(text, value) in accepted {
        let parsed = parse_score(text.as_bytes());
        assert_eq!(parsed.map(f64::to_bits), Some(value.to_bits()), "{text}");
    }
    let rejected = [
        "",
        " 1",
        "1 ",
        "nan",
        "-nan",
        "NaN",
        "1e999",
        "-1e999",
        "1e-400",
        ".e1",
        "1e",
        "1e+",
        "0x",
        "abc",
        "1_0",
        "1,5",
        "0x1p1024",
        "0x1p-1076",
        "1\0",
        "\t2",
        "++1",
        "inf ",
        "infinit",
    ];
    for text in rejected {
        assert_eq!(parse_score(text.as_bytes()), None, "{text:?}");
    }
    assert_eq!(parse_score("٣".as_bytes()), None);
}

#[test]
fn parse_score_bound_matches_redis() {
    let cases: &[(&[u8], Option<ScoreBound>)] = &[
        (b"1", Some(incl(1.0))),
        (b" 1", Some(incl(1.0))),
        (b"\t2", Some(incl(2.0))),
        (b"", Some(incl(0.0))),
        (b"(", Some(excl(0.0))),
        (b"(1.5", Some(excl(1.5))),
        (b"( 1", Some(excl(1.0))),
        (b"1e999", Some(incl(INF))),
        (b"-1e999", Some(incl(-INF))),
        (b"(inf", Some(excl(INF))),
        (b"(+inf", Some(excl(INF))),
        (b"(-inf", Some(excl(-INF))),
        (b"-inf", Some(incl(-INF))),
        (b"+inf", Some(incl(INF))),
        (b"0x10", Some(incl(16.0))),
        (b"1e-400", Some(incl(0.0))),
        (b"1\0zz", Some(incl(1.0))),
        (b"(1\0zz", Some(excl(1.0))),
        (b"1 ", None),
        (b"nan", None),
        (b"(nan", None),
        (b"-", None),
        (b"+", None),
        (b"abc", None),
        (b"((1", None),
        (b"[1", None),
        (b" ", None),
    ];
    for (text, expected) in cases {
        assert_eq!(
            parse_score_bound(text),
            *expected,
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn parse_lex_bound_matches_redis() {
    assert_eq!(parse_lex_bound(b"-"), Some(LexBound::Min));
    assert_eq!(parse_lex_bound(b"+"), Some(LexBound::Max));
    assert_eq!(
        parse_lex_bound(b"[a"),
        Some(LexBound::Inclusive(b"a".to_vec()))
    );
    assert_eq!(
        parse_lex_bound(b"(a"),
        Some(LexBound::Exclusive(b"a".to_vec()))
    );
    assert_eq!(parse_lex_bound(b"["), Some(LexBound::Inclusive(Vec::new())));
    assert_eq!(
        parse_lex_bound(b"(a\0b"),
        Some(LexBound::Exclusive(b"a\0b".to_vec()))
    );
    assert_eq!(parse_lex_bound(b"+\0a"), Some(LexBound::Max));
    assert_eq!(parse_lex_bound(b"-\0a"), Some(LexBound::Min));
    for bad in [&b""[..], b"a", b"+a", b"-a", b"]a", b"\0"] {
        assert_eq!(parse_lex_bound(bad), None, "{bad:?}");
    }
}

/// A tiny deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The reference: a sorted vector, with Redis's algorithms written out naively.
#[derive(Default)]
struct Model {
    items: Owned,
}

impl Model {
    fn position(&self, member: &[u8]) -> Option<usize> {
        self.items.iter().position(|(m, _)| m == member)
    }

    fn insert(&mut self, member: &[u8], score: f64) -> InsertOutcome {
        let score = if score == 0.0 { 0.0 } else { score };
        let outcome = match self.position(member) {
            Some(i) if self.items[i].1 == score => return InsertOutcome::Unchanged,
            Some(i) => {
                let old = self.items.remove(i).1;
                InsertOutcome::Updated { old }
            }
            None => InsertOutcome::Added,
        };
        let at = self
            .items
            .partition_point(|(m, s)| *s < score || (*s == score && m.as_slice() < member));
        self.items.insert(at, (member.to_vec(), score));
        outcome
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let i = self.position(member)?;
        Some(self.items.remove(i).1)
    }

    fn by_score(&self, min: ScoreBound, max: ScoreBound) -> Owned {
        let inside = |s: f64| min.admits_as_min(s) && max.admits_as_max(s);
        self.items
            .iter()
            .filter(|(_, s)| inside(*s))
            .cloned()
            .collect()
    }

    fn window(mut items: Owned, reverse: bool, offset: usize, limit: Option<usize>) -> Owned {
        if reverse {
            items.reverse();
        }
        items
            .into_iter()
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .collect()
    }

    /// Redis's lex walk (first in range, skip offset, take while within the far bound) with the
    /// canonical binary search for "first"/"last".
    fn by_lex(
        &self,
        min: &LexBound,
        max: &LexBound,
        reverse: bool,
        offset: usize,
        limit: Option<usize>,
    ) -> Owned {
        let items = &self.items;
        let n = items.len();
        if n == 0
            || lex_range_is_void(min, max)
            || !min.admits_as_min(&items[n - 1].0)
            || !max.admits_as_max(&items[0].0)
        {
            return vec![];
        }
        let limit = limit.unwrap_or(usize::MAX);
        if reverse {
            let after_last = prefix_len(n, |r| max.admits_as_max(&items[r].0));
            if after_last == 0 || !min.admits_as_min(&items[after_last - 1].0) {
                return vec![];
            }
            let top = after_last.saturating_sub(offset);
            items[..top]
                .iter()
                .rev()
                .take(limit)
                .take_while(|(m, _)| min.admits_as_min(m))
                .cloned()
                .collect()
        } else {
            let first = prefix_len(n, |r| !min.admits_as_min(&items[r].0));
            if first >= n || !max.admits_as_max(&items[first].0) {
                return vec![];
            }
            let start = first.saturating_add(offset).min(n);
            items[start..]
                .iter()
                .take(limit)
                .take_while(|(m, _)| max.admits_as_max(m))
                .cloned()
                .collect()
        }
    }

    /// The plain definition, valid when all scores are equal.
    fn by_lex_plain(&self, min: &LexBound, max: &LexBound) -> Owned {
        if lex_range_is_void(min, max) {
            return vec![];
        }
        let inside = |m: &[u8]| min.admits_as_min(m) && max.admits_as_max(m);
        self.items
            .iter()
            .filter(|(m, _)| inside(m))
            .cloned()
            .collect()
    }

    fn remove_ranks(&mut self, start: usize, end: usize) -> Owned {
        let end = end.min(self.items.len());
        if start >= end {
            return vec![];
        }
        self.items.drain(start..end).collect()
    }

    fn rank_of(&self, items: &Owned) -> Option<(usize, usize)> {
        let first = items.first()?;
        let start = self.position(&first.0)?;
        Some((start, start + items.len()))
    }
}

fn random_member(rng: &mut Rng, keys: u64) -> Vec<u8> {
    let k = rng.below(keys);
    if k.is_multiple_of(11) {
        format!("a-much-longer-member-name-that-is-boxed-{k:05}").into_bytes()
    } else {
        format!("m{k:05}").into_bytes()
    }
}

fn random_score(rng: &mut Rng, equal_scores: bool) -> f64 {
    if equal_scores {
        return 0.0;
    }
    match rng.below(20) {
        0 => f64::INFINITY,
        1 => f64::NEG_INFINITY,
        2 => -0.0,
        3 => rng.below(40) as f64 / 4.0 - 5.0,
        _ => rng.below(30) as f64 - 15.0,
    }
}

fn random_score_bound(rng: &mut Rng) -> ScoreBound {
    let value = match rng.below(10) {
        0 => f64::INFINITY,
        1 => f64::NEG_INFINITY,
        _ => rng.below(34) as f64 - 17.0,
    };
    if rng.chance(50) {
        incl(value)
    } else {
        excl(value)
    }
}

fn random_lex_bound(rng: &mut Rng, keys: u64) -> LexBound {
    match rng.below(12) {
        0 => LexBound::Min,
        1 => LexBound::Max,
        2 => LexBound::Inclusive(b"m".to_vec()),
        n => {
            let member = random_member(rng, keys);
            let cut = if rng.chance(20) {
                member.len() - 1
            } else {
                member.len()
            };
            let member = member[..cut].to_vec();
            if n % 2 == 0 {
                LexBound::Inclusive(member)
            } else {
                LexBound::Exclusive(member)
            }
        }
    }
}

fn random_limit(rng: &mut Rng) -> (usize, Option<usize>) {
    let offset = if rng.chance(50) {
        0
    } else {
        rng.below(20) as usize
    };
    let limit = match rng.below(4) {
        0 => None,
        _ => Some(rng.below(25) as usize),
    };
    (offset, limit)
}

/// Runs `ops` random operations on `set` and on the model, comparing every answer.
fn run_against_model(
    set: &mut SortedSet,
    seed: u64,
    ops: usize,
    keys: u64,
    equal_scores: bool,
    check_every: usize,
) {
    let mut rng = Rng(seed);
    let mut model = Model::default();
    let mut peak = (0, 0);
    for step in 0..ops {
        peak = peak.max((set.len(), set.height()));
        // Phases: grow (mostly inserts, no bulk removals), mixed, shrink (extra single removals).
        let mut op = rng.below(100);
        match (step / (ops / 6).max(1)) % 3 {
            0 if (40..=51).contains(&op) || (81..=95).contains(&op) || rng.chance(40) => op = 0,
            2 if rng.chance(20) => op = 40,
            _ => {}
        }
        match op {
            0..=39 => {
                let member = random_member(&mut rng, keys);
                let score = random_score(&mut rng, equal_scores);
                assert_eq!(
                    set.insert(&member, score),
                    model.insert(&member, score),
                    "step {step}"
                );
            }
            40..=51 => {
                let member = random_member(&mut rng, keys);
                assert_eq!(set.remove(&member), model.remove(&member), "step {step}");
            }
            52..=55 => {
                let member = random_member(&mut rng, keys);
                assert_eq!(
                    set.score(&member),
                    model.position(&member).map(|i| model.items[i].1)
                );
                assert_eq!(set.rank(&member), model.position(&member), "step {step}");
            }
            56..=59 => {
                let len = model.items.len() as i64;
                let start = rng.below(len as u64 * 2 + 4) as i64 - len - 2;
                let stop = rng.below(len as u64 * 2 + 4) as i64 - len - 2;
                let reverse = rng.chance(50);
                let got = resolve_index_range(start, stop, set.len())
                    .map(|(a, b)| owned(set.range_by_rank(a, b, reverse)))
                    .unwrap_or_default();
                let mut all = model.items.clone();
                if reverse {
                    all.reverse();
                }
                let expected = resolve_index_range(start, stop, all.len())
                    .map(|(a, b)| all[a..=b].to_vec())
                    .unwrap_or_default();
                assert_eq!(got, expected, "step {step}");
            }
            60..=67 => {
                let (min, max) = (random_score_bound(&mut rng), random_score_bound(&mut rng));
                let (offset, limit) = random_limit(&mut rng);
                let reverse = rng.chance(50);
                let got = owned(set.range_by_score(min, max, reverse, offset, limit));
                let expected = Model::window(model.by_score(min, max), reverse, offset, limit);
                assert_eq!(
                    got, expected,
                    "step {step} {min:?} {max:?} {reverse} {offset} {limit:?}"
                );
                assert_eq!(set.count_by_score(min, max), model.by_score(min, max).len());
            }
            68..=77 => {
                let (min, max) = (
                    random_lex_bound(&mut rng, keys),
                    random_lex_bound(&mut rng, keys),
                );
                let (offset, limit) = random_limit(&mut rng);
                let reverse = rng.chance(50);
                let got = owned(set.range_by_lex(&min, &max, reverse, offset, limit));
                let expected = model.by_lex(&min, &max, reverse, offset, limit);
                assert_eq!(
                    got, expected,
                    "step {step} {min:?} {max:?} {reverse} {offset} {limit:?}"
                );
                if equal_scores {
                    let plain =
                        Model::window(model.by_lex_plain(&min, &max), reverse, offset, limit);
                    assert_eq!(got, plain, "step {step}");
                    assert_eq!(
                        set.count_by_lex(&min, &max),
                        model.by_lex_plain(&min, &max).len()
                    );
                } else {
                    let all = model.by_lex(&min, &max, false, 0, None);
                    if let Some((first, _)) = model.rank_of(&all) {
                        let last = model.by_lex(&min, &max, true, 0, Some(1));
                        let expected = match model.rank_of(&last) {
                            Some((l, _)) => (l + 1).saturating_sub(first),
                            None => model.items.len() - first,
                        };
                        assert_eq!(set.count_by_lex(&min, &max), expected, "step {step}");
                    } else {
                        assert_eq!(set.count_by_lex(&min, &max), 0, "step {step}");
                    }
                }
            }
            78..=80 => {
                let index = rng.below(model.items.len() as u64 + 2) as usize;
                assert_eq!(
                    set.nth(index).map(|(m, s)| (m.to_vec(), s)),
                    model.items.get(index).cloned()
                );
            }
            81..=84 => {
                let count = if rng.chance(10) {
                    rng.below(500)
                } else {
                    rng.below(4)
                } as usize;
                let max = rng.chance(50);
                let len = model.items.len();
                let take = count.min(len);
                let mut expected = if max {
                    model.remove_ranks(len - take, len)
                } else {
                    model.remove_ranks(0, take)
                };
                if max {
                    expected.reverse();
                }
                assert_eq!(set.pop(count, max), expected, "step {step}");
            }
            85..=88 => {
                let len = model.items.len() as i64;
                let start = rng.below(len as u64 + 3) as i64 - 1;
                let span = if rng.chance(10) { 400 } else { 6 };
                let stop = start + rng.below(span) as i64;
                let removed = resolve_index_range(start, stop, set.len())
                    .map(|(a, b)| set.remove_range_by_rank(a, b))
                    .unwrap_or(0);
                let expected = resolve_index_range(start, stop, model.items.len())
                    .map(|(a, b)| model.remove_ranks(a, b + 1).len())
                    .unwrap_or(0);
                assert_eq!(removed, expected, "step {step}");
            }
            89..=92 => {
                let (min, max) = (random_score_bound(&mut rng), random_score_bound(&mut rng));
                let (min, max) = if rng.chance(70) {
                    (min, excl(min_of(min) + 2.0))
                } else {
                    (min, max)
                };
                let expected = model.by_score(min, max);
                let span = model.rank_of(&expected);
                assert_eq!(
                    set.remove_range_by_score(min, max),
                    expected.len(),
                    "step {step}"
                );
                if let Some((a, b)) = span {
                    model.remove_ranks(a, b);
                }
            }
            93..=95 => {
                let (min, max) = (
                    random_lex_bound(&mut rng, keys),
                    random_lex_bound(&mut rng, keys),
                );
                let expected = model.by_lex(&min, &max, false, 0, None);
                let span = model.rank_of(&expected);
                assert_eq!(
                    set.remove_range_by_lex(&min, &max),
                    expected.len(),
                    "step {step}"
                );
                if let Some((a, b)) = span {
                    model.remove_ranks(a, b);
                }
            }
            _ => {
                assert_eq!(owned(set.iter()), model.items, "step {step}");
                assert_eq!(
                    owned(set.iter().rev()),
                    model.items.iter().rev().cloned().collect::<Owned>()
                );
            }
        }
        assert_eq!(set.len(), model.items.len(), "step {step}");
        if step % check_every == 0 {
            set.check();
        }
    }
    set.check();
    assert_eq!(owned(set.iter()), model.items);
    eprintln!("peak len/height {peak:?}");
}

fn min_of(bound: ScoreBound) -> f64 {
    match bound {
        ScoreBound::Inclusive(v) | ScoreBound::Exclusive(v) => v,
    }
}

#[test]
fn random_ops_match_model_default_set() {
    for seed in 1..=4u64 {
        let mut set = SortedSet::new();
        run_against_model(
            &mut set,
            seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            6000,
            400,
            false,
            50,
        );
    }
}

#[test]
fn random_ops_match_model_equal_scores() {
    for seed in 1..=3u64 {
        let mut set = SortedSet::new();
        run_against_model(
            &mut set,
            seed.wrapping_mul(0x1234_5678_9abc_def1),
            5000,
            400,
            true,
            50,
        );
        let mut deep = SortedSet::new_large_for_test(Caps {
            leaf: 4,
            inner: 4,
            keep_large: true,
        });
        run_against_model(
            &mut deep,
            seed.wrapping_mul(0x0fed_cba9_8765_4321),
            4000,
            300,
            true,
            25,
        );
    }
}

#[test]
fn random_ops_match_model_deep_tree() {
    for (seed, leaf, inner) in [(11u64, 4, 4), (12, 5, 4), (13, 8, 5), (14, 6, 7)] {
        let mut set = SortedSet::new_large_for_test(Caps {
            leaf,
            inner,
            keep_large: true,
        });
        run_against_model(
            &mut set,
            seed.wrapping_mul(0x5851_f42d_4c95_7f2d),
            6000,
            300,
            false,
            20,
        );
    }
}

#[test]
fn random_ops_match_model_production_nodes() {
    let mut set = SortedSet::new_large_for_test(Caps {
        leaf: 64,
        inner: 64,
        keep_large: true,
    });
    run_against_model(&mut set, 0xdead_beef, 40000, 30000, false, 2000);
    let mut set = SortedSet::new();
    run_against_model(&mut set, 0xfeed_f00d, 40000, 30000, true, 2000);
}

/// Many more seeds and shapes; run with `cargo test -- --ignored`.
#[test]
#[ignore]
fn random_ops_soak() {
    for seed in 100..160u64 {
        let caps = Caps {
            leaf: 4 + (seed % 7) as usize,
            inner: 4 + (seed % 5) as usize,
            keep_large: seed % 2 == 0,
        };
        let mut set = SortedSet::new_large_for_test(caps);
        run_against_model(
            &mut set,
            seed.wrapping_mul(0x2545_f491_4f6c_dd1d),
            20000,
            1500,
            seed % 3 == 0,
            10,
        );
        let mut set = SortedSet::new();
        run_against_model(
            &mut set,
            seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            20000,
            1500,
            seed % 3 == 1,
            10,
        );
    }
}

#[test]
fn same_operations_give_the_same_state() {
    let run = || {
        let mut set = SortedSet::new();
        let mut rng = Rng(42);
        for _ in 0..3000 {
            let member = random_member(&mut rng, 500);
            if rng.chance(70) {
                set.insert(&member, random_score(&mut rng, false));
            } else {
                set.remove(&member);
            }
        }
        set
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    assert_eq!(a.estimated_size(), b.estimated_size());
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

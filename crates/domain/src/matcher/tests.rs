//! Table-driven checks of the matcher parser and of matching, against Alertmanager 0.25's
//! behaviour (cases follow `pkg/labels/parse_test.go` and the quirks of `parse.go`).

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
}

/// A parsed matcher as plain data, so tables stay readable.
fn plain(matcher: &Matcher) -> (String, MatchType, String) {
    (matcher.name().to_string(), matcher.match_type(), matcher.value().to_string())
}

type Expected<'a> = Result<&'a [(&'a str, MatchType, &'a str)], &'a str>;

/// Label pairs, the shape every table here uses for a label set or a legacy map.
type Pairs<'a> = &'a [(&'a str, &'a str)];

fn check_parse_matchers(input: &str, expected: Expected<'_>) {
    let actual = parse_matchers(input).map(|matchers| matchers.iter().map(plain).collect::<Vec<_>>());
    let expected = expected
        .map(|rows| rows.iter().map(|(name, match_type, value)| (name.to_string(), *match_type, value.to_string())).collect())
        .map_err(str::to_string);
    assert_eq!(actual.map_err(|error| error.to_string()), expected, "input {input:?}");
}

#[test]
fn parse_matchers_follows_alertmanager_0_25() {
    use MatchType::*;
    let cases: &[(&str, Expected<'_>)] = &[
        (r#"{foo="bar"}"#, Ok(&[("foo", Equal, "bar")])),
        (r#"{foo=~"bar.*"}"#, Ok(&[("foo", Regex, "bar.*")])),
        (r#"{foo!="bar"}"#, Ok(&[("foo", NotEqual, "bar")])),
        (r#"{foo!~"bar.*"}"#, Ok(&[("foo", NotRegex, "bar.*")])),
        (r#"{foo="bar", baz!="quux"}"#, Ok(&[("foo", Equal, "bar"), ("baz", NotEqual, "quux")])),
        (r#"{foo=""}"#, Ok(&[("foo", Equal, "")])),
        (r#"{foo="bar,quux", job="job1"}"#, Ok(&[("foo", Equal, "bar,quux"), ("job", Equal, "job1")])),
        (r#"{foo = "bar", dings != "bums", }"#, Ok(&[("foo", Equal, "bar"), ("dings", NotEqual, "bums")])),
        ("foo=bar,dings!=bums", Ok(&[("foo", Equal, "bar"), ("dings", NotEqual, "bums")])),
        (
            r#"{quote="She said: \"Hi, ladies! That's gender-neutral…\""}"#,
            Ok(&[("quote", Equal, r#"She said: "Hi, ladies! That's gender-neutral…""#)]),
        ),
        (r#"statuscode=~"5..""#, Ok(&[("statuscode", Regex, "5..")])),
        ("tricky=~~~", Ok(&[("tricky", Regex, "~~")])),
        (r#"trickier==\\=\=\""#, Ok(&[("trickier", Equal, r#"=\=\=""#)])),
        (
            r#"contains_quote != "\"" , contains_comma !~ "foo,bar" , "#,
            Ok(&[("contains_quote", NotEqual, "\""), ("contains_comma", NotRegex, "foo,bar")]),
        ),
        ("job=", Ok(&[("job", Equal, "")])),
        ("", Ok(&[])),
        ("{}", Ok(&[])),
        ("  ", Ok(&[])),
        // Braces are each optional, and only one of each is dropped.
        (r#"{a="b""#, Ok(&[("a", Equal, "b")])),
        ("a=b}", Ok(&[("a", Equal, "b")])),
        (r#"a="x}""#, Ok(&[("a", Equal, "x}")])),
        // Escapes: \n, \" and \\ are escapes; any other backslash is literal.
        (r#"a="line\nbreak""#, Ok(&[("a", Equal, "line\nbreak")])),
        (r#"a="back\\slash""#, Ok(&[("a", Equal, r"back\slash")])),
        (r#"a="\t\d""#, Ok(&[("a", Equal, r"\t\d")])),
        (r"a=x\", Ok(&[("a", Equal, r"x\")])),
        // Whitespace around tokens goes; whitespace inside quotes stays.
        ("  a  =  b  ", Ok(&[("a", Equal, "b")])),
        (r#"a="  b  ""#, Ok(&[("a", Equal, "  b  ")])),
        ("a = b c", Ok(&[("a", Equal, "b c")])),
        ("a=\"multi\nline\"", Ok(&[("a", Equal, "multi\nline")])),
        // Only the last token is trimmed with Unicode whitespace rules; the others keep a
        // trailing no-break space because the matcher grammar trims ASCII whitespace only.
        ("a=b\u{a0},c=d\u{a0}", Ok(&[("a", Equal, "b\u{a0}"), ("c", Equal, "d")])),
        ("ns:name=x", Ok(&[("ns:name", Equal, "x")])),
        ("a==b", Ok(&[("a", Equal, "=b")])),
        ("a=!b", Ok(&[("a", Equal, "!b")])),
        ("a!=~b", Ok(&[("a", NotEqual, "~b")])),
        // An escaped quote does not open quotes, so the comma still separates.
        (r#"a=\",b=c"#, Ok(&[("a", Equal, "\""), ("b", Equal, "c")])),
        (r#"job="value"#, Err(r#"matcher value contains unescaped double quote: "value"#)),
        (r#"job=value""#, Err(r#"matcher value contains unescaped double quote: value""#)),
        (r#"trickier==\\=\=\"""#, Err(r#"matcher value contains unescaped double quote: =\\=\=\"""#)),
        (r#"contains_unescaped_quote = foo"bar"#, Err(r#"matcher value contains unescaped double quote: foo"bar"#)),
        (r#"a="b"c""#, Err(r#"matcher value contains unescaped double quote: "b"c""#)),
        (r#"{invalid-name = "valid label"}"#, Err(r#"bad matcher format: invalid-name = "valid label""#)),
        (r#"{foo=~"invalid[regexp"}"#, Err(r#"invalid regular expression "invalid[regexp": missing closing ]: `[regexp)$`"#)),
        (r#""{foo=\"bar"}"#, Err(r#"bad matcher format: "{foo=\"bar""#)),
        (r#""foo=\"bar""#, Err(r#"bad matcher format: "foo=\"bar""#)),
        (r#""foo="bar"""#, Err(r#"bad matcher format: "foo="bar"""#)),
        ("a=b,,c=d", Err("bad matcher format: ")),
        (",a=b", Err("bad matcher format: ")),
        ("  {a=b}", Err("bad matcher format: {a=b")),
        ("foo", Err("bad matcher format: foo")),
        ("=bar", Err("bad matcher format: =bar")),
        ("foo~=bar", Err("bad matcher format: foo~=bar")),
        ("1abc=x", Err("bad matcher format: 1abc=x")),
        ("a=b, c", Err("bad matcher format: c")),
    ];
    for (input, expected) in cases {
        check_parse_matchers(input, *expected);
    }
}

#[test]
fn single_matcher_parse_does_not_split_or_unwrap() {
    for (input, expected) in [
        (r#"a="x,y""#, Ok(r#"a="x,y""#)),
        ("a=x,y", Ok(r#"a="x,y""#)),
        ("a=b\u{a0}", Ok("a=\"b\u{a0}\"")),
        ("{a=b}", Err("bad matcher format: {a=b}")),
    ] {
        let actual = Matcher::parse(input).map(|matcher| matcher.to_string()).map_err(|error| error.to_string());
        assert_eq!(actual, expected.map(str::to_string).map_err(str::to_string), "input {input:?}");
    }
}

#[test]
fn matching_follows_alertmanager_semantics() {
    let cases: &[(&str, Pairs<'_>, bool)] = &[
        // A missing label is the empty string.
        (r#"severity="""#, &[], true),
        (r#"severity="""#, &[("severity", "page")], false),
        (r#"severity!="""#, &[], false),
        (r#"severity!="critical""#, &[], true),
        (r#"severity!="critical""#, &[("severity", "critical")], false),
        (r#"env=~".*""#, &[], true),
        (r#"env=~".+""#, &[], false),
        (r#"env!~"prod.*""#, &[], true),
        (r#"env!~"prod.*""#, &[("env", "production")], false),
        // Anchored at both ends.
        (r#"env=~"prod.*""#, &[("env", "production")], true),
        (r#"env=~"prod.*""#, &[("env", "preprod")], false),
        (r#"env=~"prod""#, &[("env", "production")], false),
        (r#"x=~"a|b""#, &[("x", "ab")], false),
        (r#"x=~"a|b""#, &[("x", "b")], true),
        // The anchoring is textual, so a value can close it early, exactly as in Go.
        (r#"x=~"a)|(b""#, &[("x", "abc")], true),
        // Go's \d is ASCII only.
        (r#"x=~"\\d+""#, &[("x", "42")], true),
        (r#"x=~"\\d+""#, &[("x", "٣")], false),
        (r#"x=~"\\w+""#, &[("x", "é")], false),
        (r#"x=~"(?i)CRIT""#, &[("x", "crit")], true),
        (r#"x=~"a.b""#, &[("x", "a\nb")], false),
        (r#"x=~"(?s)a.b""#, &[("x", "a\nb")], true),
        (r#"x=~"{{ .Value }}""#, &[("x", "{{ xValue }}")], true),
        (r#"x=~"[[]""#, &[("x", "[")], true),
        (r#"x=~"[a-c&&b]""#, &[("x", "&")], true),
        (r#"x=~"\\Q1.5\\E""#, &[("x", "105")], false),
        (r#"x=~"\\Q1.5\\E""#, &[("x", "1.5")], true),
        (r#"x="a""#, &[("y", "a")], false),
    ];
    for (matcher_text, label_pairs, expected) in cases {
        let matcher = Matcher::parse(matcher_text).unwrap_or_else(|error| panic!("{matcher_text}: {error}"));
        assert_eq!(matcher.matches(&labels(label_pairs)), *expected, "{matcher_text} against {label_pairs:?}");
    }
}

#[test]
fn display_renders_like_alertmanager() {
    for (input, rendered) in [
        ("foo=bar", r#"foo="bar""#),
        (r#" foo =~ "a\"b" "#, r#"foo=~"a\"b""#),
        (r#"a="x\ny""#, r#"a="x\ny""#),
        (r#"a="back\\slash""#, r#"a="back\\slash""#),
        (r#"a="\t""#, r#"a="\\t""#),
        ("a!~", r#"a!~"""#),
    ] {
        assert_eq!(Matcher::parse(input).unwrap().to_string(), rendered, "input {input:?}");
    }
    let matchers = parse_matchers(r#"{b="2", a=~"x"}"#).unwrap();
    assert_eq!(format_matchers(&matchers), r#"{b="2",a=~"x"}"#);
    assert_eq!(format_matchers(&[]), "{}");
}

#[test]
fn legacy_maps_build_matchers_like_alertmanager() {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    };
    let render = |result: Result<Vec<Matcher>, MatcherError>| match result {
        Ok(matchers) => Ok(format_matchers(&matchers)),
        Err(error) => Err(error.to_string()),
    };
    let equality_cases: &[(Pairs<'_>, Result<&str, &str>)] = &[
        (&[("service", "files"), ("env", "")], Ok(r#"{env="",service="files"}"#)),
        (&[("foo-bar", "x")], Err(r#"invalid label name "foo-bar""#)),
        (&[("ns:name", "x")], Err(r#"invalid label name "ns:name""#)),
    ];
    for (pairs, expected) in equality_cases {
        let expected = expected.map(str::to_string).map_err(str::to_string);
        assert_eq!(render(Matcher::from_legacy_match(&map(pairs))), expected, "{pairs:?}");
    }
    let regex_cases: &[(Pairs<'_>, Result<&str, &str>)] = &[
        (&[("service", "foo1|foo2")], Ok(r#"{service=~"^(?:foo1|foo2)$"}"#)),
        (&[("test", "^[12]$")], Ok(r#"{test=~"^(?:^[12]$)$"}"#)),
        (&[("x", "(")], Err(r#"invalid regular expression "(": unclosed group"#)),
        (&[("9x", ".*")], Err(r#"invalid label name "9x""#)),
    ];
    for (pairs, expected) in regex_cases {
        let expected = expected.map(str::to_string).map_err(str::to_string);
        assert_eq!(render(Matcher::from_legacy_match_re(&map(pairs))), expected, "{pairs:?}");
    }
    let legacy = Matcher::from_legacy_match_re(&map(&[("service", "foo1|foo2")])).unwrap();
    assert!(legacy[0].matches(&labels(&[("service", "foo2")])));
    assert!(!legacy[0].matches(&labels(&[("service", "foo")])));
}

#[test]
fn matchers_serialize_as_their_text() {
    let matcher = Matcher::parse(r#"env=~"prod.*""#).unwrap();
    let json = serde_json::to_string(&matcher).unwrap();
    assert_eq!(json, r#""env=~\"prod.*\"""#);
    assert_eq!(serde_json::from_str::<Matcher>(&json).unwrap(), matcher);
    assert!(serde_json::from_str::<Matcher>(r#""not a matcher""#).is_err());
}

proptest! {
    #[test]
    fn parsing_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = Matcher::parse(&text);
        let _ = parse_matchers(&text);
    }

    #[test]
    fn parsing_never_panics_on_matcher_like_text(text in r#"[a-c_:=!~"\\{},\[\]()*+?|.^$ \t\n-]{0,40}"#) {
        let _ = Matcher::parse(&text);
        let _ = parse_matchers(&text);
    }

    #[test]
    fn building_a_regex_matcher_never_panics(pattern in r#"[a-c\\{},\[\]()*+?|.^$:PQEdwsbpx0-9<>&~-]{0,30}"#) {
        let _ = Matcher::new("x", MatchType::Regex, pattern);
    }

    #[test]
    fn rendering_then_parsing_gives_the_same_matcher(
        name in "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
        match_type in prop_oneof![
            Just(MatchType::Equal),
            Just(MatchType::NotEqual),
            Just(MatchType::Regex),
            Just(MatchType::NotRegex),
        ],
        value in any::<String>(),
    ) {
        if let Ok(matcher) = Matcher::new(name, match_type, value) {
            prop_assert_eq!(Matcher::parse(&matcher.to_string()), Ok(matcher.clone()));
            prop_assert_eq!(parse_matchers(&format_matchers(std::slice::from_ref(&matcher))), Ok(vec![matcher]));
        }
    }
}

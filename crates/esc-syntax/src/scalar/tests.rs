//! Unit tests of scalar resolution and number text.

use super::*;

fn plain(value: &str) -> NodeKind {
    resolve_scalar(value, false, ScalarTag::None)
        .ok()
        .flatten()
        .unwrap_or(NodeKind::String {
            value: value.to_owned(),
            style: crate::ScalarStyle::Plain,
        })
}

fn number(text: &str) -> NodeKind {
    NodeKind::Number(text.to_owned())
}

fn string(text: &str) -> NodeKind {
    NodeKind::String {
        value: text.to_owned(),
        style: crate::ScalarStyle::Plain,
    }
}

#[test]
fn nulls_and_bools() {
    for v in ["", "~", "null", "Null", "NULL"] {
        assert_eq!(plain(v), NodeKind::Null, "{v:?}");
    }
    for v in ["true", "True", "TRUE"] {
        assert_eq!(plain(v), NodeKind::Bool(true));
    }
    for v in ["false", "False", "FALSE"] {
        assert_eq!(plain(v), NodeKind::Bool(false));
    }
    for v in [
        "yes", "no", "on", "off", "y", "n", "tRUE", "nULL", "NuLL", "<<",
    ] {
        assert_eq!(plain(v), string(v), "{v:?}");
    }
}

#[test]
fn integers() {
    let cases = [
        ("0", "0"),
        ("42", "42"),
        ("+42", "42"),
        ("-42", "-42"),
        ("-0", "0"),
        ("0x1F", "31"),
        ("0X1f", "31"),
        ("-0x1F", "-31"),
        ("0o17", "15"),
        ("0b101", "5"),
        ("017", "15"),
        ("1_000", "1000"),
        ("0x_1F", "31"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("9223372036854775808", "9223372036854775808"),
        ("18446744073709551615", "18446744073709551615"),
        ("0xFFFFFFFFFFFFFFFF", "18446744073709551615"),
        // beyond u64: a float
        ("18446744073709551616", "1.8446744073709552e+19"),
        ("-9223372036854775809", "-9.223372036854776e+18"),
        // not octal, so a float
        ("08", "8"),
        ("09.5", "9.5"),
    ];
    for (text, want) in cases {
        assert_eq!(plain(text), number(want), "{text:?}");
    }
}

#[test]
fn floats() {
    let cases = [
        ("3.14", "3.14"),
        ("1.0", "1"),
        ("1e3", "1000"),
        ("1E3", "1000"),
        ("1000000.0", "1e+06"),
        ("100000.0", "100000"),
        ("123456.7", "123456.7"),
        ("1234567.0", "1.234567e+06"),
        ("0.00001", "1e-05"),
        ("0.0001", "0.0001"),
        ("0.000123", "0.000123"),
        (".5", "0.5"),
        ("-.5", "-0.5"),
        ("+.5", "0.5"),
        ("1.", "1"),
        ("-0.0", "-0"),
        ("1e100", "1e+100"),
        ("1.5e-7", "1.5e-07"),
        ("1_000.5", "1000.5"),
        (".5_5", "0.55"),
        ("1e-400", "0"),
        (".inf", "+Inf"),
        (".Inf", "+Inf"),
        ("+.INF", "+Inf"),
        ("-.inf", "-Inf"),
        (".nan", "NaN"),
        (".NaN", "NaN"),
        ("0.1", "0.1"),
        ("2.5e+3", "2500"),
        ("123456789012345678901234567890", "1.2345678901234568e+29"),
    ];
    for (text, want) in cases {
        assert_eq!(plain(text), number(want), "{text:?}");
    }
}

#[test]
fn other_text_is_a_string() {
    for v in [
        "hello",
        "1e400",
        "0x",
        "0b",
        "0b2",
        "1.2.3",
        "1e",
        ".",
        ".e5",
        "._5",
        "+",
        "-",
        "inf",
        "+inf",
        "NaN",
        ".nAn",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
        "1:20",
        "0x1G",
        "12abc",
        "${a}",
        "1 2",
    ] {
        assert_eq!(plain(v), string(v), "{v:?}");
    }
}

#[test]
fn quoted_scalars_are_strings() {
    assert_eq!(resolve_scalar("42", true, ScalarTag::None), Ok(None));
    assert_eq!(resolve_scalar("true", true, ScalarTag::None), Ok(None));
}

#[test]
fn explicit_tags() {
    assert_eq!(
        resolve_scalar("42", false, ScalarTag::Explicit("!!str")),
        Ok(None)
    );
    assert_eq!(
        resolve_scalar("42", true, ScalarTag::Explicit("!!int")),
        Ok(Some(number("42")))
    );
    assert_eq!(
        resolve_scalar("1", false, ScalarTag::Explicit("!!float")),
        Ok(Some(number("1")))
    );
    assert_eq!(
        resolve_scalar("1.5", false, ScalarTag::Explicit("!!float")),
        Ok(Some(number("1.5")))
    );
    assert_eq!(
        resolve_scalar("", false, ScalarTag::Explicit("!!null")),
        Ok(Some(NodeKind::Null))
    );
    assert_eq!(
        resolve_scalar("x", false, ScalarTag::Explicit("!foo")),
        Ok(None)
    );
    assert_eq!(
        resolve_scalar("yes", false, ScalarTag::Explicit("!!bool")),
        Err("yaml: cannot decode !!str `yes` as a !!bool".to_owned())
    );
    assert_eq!(
        resolve_scalar("1.5", false, ScalarTag::Explicit("!!int")),
        Err("yaml: cannot decode !!float `1.5` as a !!int".to_owned())
    );
    assert_eq!(
        resolve_scalar(
            "18446744073709551615",
            false,
            ScalarTag::Explicit("!!float")
        ),
        Err("yaml: cannot decode !!int `18446744073709551615` as a !!float".to_owned())
    );
}

#[test]
fn float_formatting_matches_go() {
    let cases = [
        (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1e+21"),
        (1e20, "1e+20"),
        (123456.0, "123456"),
        (999999.0, "999999"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "5e-324"),
        (-2.5, "-2.5"),
        (100.0, "100"),
        (0.001, "0.001"),
    ];
    for (f, want) in cases {
        assert_eq!(format_float(f), want, "{f:?}");
    }
}

//! Unit tests of behaviour no conformance fixture covers.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn rotate_paths_normalise() {
    assert_eq!(normalize_rotate_path("a.b[0]").unwrap(), "values.a.b[0]");
    assert_eq!(
        normalize_rotate_path(r#"["quoted \"k\""].x"#).unwrap(),
        r#"values["quoted \"k\""].x"#
    );
    assert_eq!(
        normalize_rotate_path("examples.subscript-path[0]").unwrap(),
        r#"values.examples["subscript-path"][0]"#
    );
}

#[test]
fn levenshtein_distances() {
    assert_eq!(levenshtein("bar", "baz"), 1);
    assert_eq!(levenshtein("", "abc"), 3);
    assert_eq!(levenshtein("kitten", "sitting"), 3);
}

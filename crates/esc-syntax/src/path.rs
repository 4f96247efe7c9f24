//! Document paths (spec §1.1): `values.foo`, `values["missing-provider"]["fn::open"]`, `imports[0]`.

use std::fmt;

/// A path from the document root to a node, in the reference's text form.
///
/// Keys matching `[A-Za-z_][A-Za-z0-9_]*` are joined with `.`, other keys are
/// written `["key"]` with `"` escaped as `\"`, indices as `[n]`. The root is
/// the empty string, and its first key has no leading dot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocPath(String);

impl DocPath {
    /// The empty path (the document root).
    pub fn root() -> Self {
        Self(String::new())
    }

    /// The path of the entry `k` of the mapping at this path.
    pub fn key(&self, k: &str) -> Self {
        let mut path = self.0.clone();
        if is_bare_key(k) {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
        } else {
            path.push_str("[\"");
            for c in k.chars() {
                if c == '"' {
                    path.push('\\');
                }
                path.push(c);
            }
            path.push_str("\"]");
        }
        Self(path)
    }

    /// The path of the element `i` of the sequence at this path.
    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }

    /// A path from its text form (as produced by this type).
    pub(crate) fn from_text(text: String) -> Self {
        Self(text)
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DocPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<DocPath> for String {
    fn from(path: DocPath) -> Self {
        path.0
    }
}

/// Whether `k` matches `[A-Za-z_][A-Za-z0-9_]*`.
fn is_bare_key(k: &str) -> bool {
    let mut bytes = k.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_bracketed_keys() {
        let values = DocPath::root().key("values");
        assert_eq!(values.as_str(), "values");
        assert_eq!(values.key("foo").as_str(), "values.foo");
        assert_eq!(
            values.key("missing-provider").key("fn::open").as_str(),
            r#"values["missing-provider"]["fn::open"]"#
        );
        assert_eq!(
            DocPath::root().key("imports").index(0).as_str(),
            "imports[0]"
        );
        assert_eq!(
            values
                .key("builtins")
                .index(0)
                .key("fn::open::test")
                .as_str(),
            r#"values.builtins[0]["fn::open::test"]"#
        );
        assert_eq!(values.key(r#"a"b"#).as_str(), r#"values["a\"b"]"#);
        assert_eq!(values.key("1abc").as_str(), r#"values["1abc"]"#);
        assert_eq!(values.key("").as_str(), r#"values[""]"#);
        assert_eq!(DocPath::root().key("x-y").as_str(), r#"["x-y"]"#);
        assert_eq!(values.key("_a1").as_str(), "values._a1");
        assert_eq!(values.key("é").as_str(), r#"values["é"]"#);
    }
}

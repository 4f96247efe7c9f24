//! Property paths (`a.b[0]["c.d"]`, spec/CLI.md "Property paths") and their
//! lookup in an opened environment's `Value` JSON.

use esc_eval::PlainValue;

use crate::error::{ServiceError, ServiceResult};

/// One step of a property path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSegment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Parses a property path.
pub fn parse_property_path(path: &str) -> ServiceResult<Vec<PathSegment>> {
    let invalid = |why: &str| ServiceError::invalid(format!("invalid property path: {why}"));
    let chars: Vec<char> = path.chars().collect();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' if !segments.is_empty() => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                if start == i {
                    return Err(invalid("empty key after '.'"));
                }
                segments.push(PathSegment::Key(chars[start..i].iter().collect()));
            }
            '[' if chars.get(i + 1) == Some(&'"') => {
                let mut key = String::new();
                let mut j = i + 2;
                loop {
                    match chars.get(j) {
                        None => return Err(invalid("unterminated string")),
                        Some('\\') => {
                            let Some(c) = chars.get(j + 1) else {
                                return Err(invalid("unterminated string"));
                            };
                            key.push(*c);
                            j += 2;
                        }
                        Some('"') => break,
                        Some(c) => {
                            key.push(*c);
                            j += 1;
                        }
                    }
                }
                if chars.get(j + 1) != Some(&']') {
                    return Err(invalid("missing closing bracket"));
                }
                segments.push(PathSegment::Key(key));
                i = j + 2;
            }
            '[' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j == chars.len() {
                    return Err(invalid("missing closing bracket"));
                }
                let text: String = chars[start..j].iter().collect();
                let index = text
                    .parse::<usize>()
                    .map_err(|_| invalid("an index must be a non-negative integer"))?;
                segments.push(PathSegment::Index(index));
                i = j + 1;
            }
            _ if segments.is_empty() => {
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                segments.push(PathSegment::Key(chars[start..i].iter().collect()));
            }
            c => return Err(invalid(&format!("unexpected '{c}'"))),
        }
    }
    if segments.is_empty() {
        return Err(invalid("empty path"));
    }
    Ok(segments)
}

/// The `Value` JSON at `path` of an environment JSON (`{"properties": …}`).
pub(crate) fn lookup<'a>(
    environment: &'a PlainValue,
    path: &[PathSegment],
) -> Option<&'a PlainValue> {
    let (first, rest) = path.split_first()?;
    let PathSegment::Key(first) = first else {
        return None;
    };
    let mut current = environment.member("properties")?.member(first)?;
    for segment in rest {
        let inner = current.member("value")?;
        current = match (segment, inner) {
            (PathSegment::Key(key), PlainValue::Object(map)) => map.get(key)?,
            (PathSegment::Index(index), PlainValue::Array(items)) => items.get(*index)?,
            _ => return None,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_paths() {
        use PathSegment::{Index, Key};
        assert_eq!(
            parse_property_path(r#"a.b[0]["c.d"]"#).unwrap(),
            vec![
                Key("a".into()),
                Key("b".into()),
                Index(0),
                Key("c.d".into())
            ]
        );
        assert_eq!(
            parse_property_path(r#"["x\"y"]"#).unwrap(),
            vec![Key("x\"y".into())]
        );
        assert!(parse_property_path("").is_err());
        assert!(parse_property_path("a[x]").is_err());
        assert!(parse_property_path("a[0").is_err());
        assert!(parse_property_path("a..b").is_err());
    }

    #[test]
    fn looks_up_values() {
        let env = PlainValue::from_json(
            r#"{"properties":{"a":{"value":{"b":{"value":[{"value":1,"trace":{}},{"value":"x","trace":{}}],"trace":{}}},"trace":{}}}}"#,
        )
        .unwrap();
        let found = lookup(&env, &parse_property_path("a.b[1]").unwrap()).unwrap();
        assert_eq!(
            found.member("value").and_then(PlainValue::as_str),
            Some("x")
        );
        assert!(lookup(&env, &parse_property_path("a.c").unwrap()).is_none());
        assert!(lookup(&env, &parse_property_path("a.b[5]").unwrap()).is_none());
    }
}

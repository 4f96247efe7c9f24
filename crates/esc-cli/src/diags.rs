//! Rendering diagnostics (spec/CLI.md § 8): one line per problem for
//! property-style commands, HCL-like blocks with source lines for edits.

use crate::backend::Diag;

/// Sorted as the reference sorts: range-less first (by summary), then by
/// environment, line, column.
fn sorted(diags: &[Diag]) -> Vec<&Diag> {
    let mut list: Vec<&Diag> = diags.iter().collect();
    list.sort_by(|a, b| match (&a.range, &b.range) {
        (None, None) => a.summary.cmp(&b.summary),
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => (&x.environment, x.begin.line, x.begin.column).cmp(&(
            &y.environment,
            y.begin.line,
            y.begin.column,
        )),
    });
    list
}

/// `env:line:col: summary` lines (§ 8.2).
pub(crate) fn property_style(diags: &[Diag]) -> String {
    let mut out = String::new();
    for d in sorted(diags) {
        match &d.range {
            None => out.push_str(&format!("{}\n", d.summary)),
            Some(r) if r.begin.line == 0 => {
                out.push_str(&format!("{}: {}\n", r.environment, d.summary));
            }
            Some(r) => out.push_str(&format!(
                "{}:{}:{}: {}\n",
                r.environment, r.begin.line, r.begin.column, d.summary
            )),
        }
    }
    out
}

/// HCL-style blocks with the source lines of `text`, which is the document
/// known as `name` (§ 8.1).
pub(crate) fn yaml_style(diags: &[Diag], name: &str, text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::new();
    for d in sorted(diags) {
        let severity = if d.warning { "Warning" } else { "Error" };
        out.push_str(&format!("{severity}: {}\n\n", d.summary));
        let Some(r) = &d.range else {
            continue;
        };
        out.push_str(&format!("  on {} line {}:\n", r.environment, r.begin.line));
        let first = usize::try_from(r.begin.line).unwrap_or(0);
        let last = usize::try_from(r.end.line.max(r.begin.line)).unwrap_or(0);
        if r.environment != name || first == 0 || first > lines.len() {
            out.push_str("  (source code not available)\n\n");
            continue;
        }
        for n in first..=last.min(lines.len()) {
            out.push_str(&format!("{n:>4}: {}\n", lines[n - 1]));
        }
        out.push('\n');
    }
    out
}

/// Whether any diagnostic is an error.
pub(crate) fn has_errors(diags: &[Diag]) -> bool {
    diags.iter().any(|d| !d.warning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Pos, Range};

    fn at(env: &str, line: i64, column: i64, summary: &str) -> Diag {
        let pos = Pos {
            line,
            column,
            byte: 0,
        };
        Diag {
            summary: summary.into(),
            warning: false,
            range: Some(Range {
                environment: env.into(),
                begin: pos.clone(),
                end: pos,
            }),
        }
    }

    #[test]
    fn property_lines_sorted() {
        let diags = vec![
            at("test", 3, 16, "unknown property \"foo\""),
            Diag {
                summary: "b".into(),
                warning: false,
                range: None,
            },
            at("test", 0, 0, "whole"),
            at(
                "default/test",
                3,
                21,
                "secret values must be string literals",
            ),
        ];
        assert_eq!(
            property_style(&diags),
            "b\ndefault/test:3:21: secret values must be string literals\ntest: whole\ntest:3:16: unknown property \"foo\"\n"
        );
    }

    #[test]
    fn golden_yaml_block() {
        // env-init-diags.yaml
        let d = at("default/test-stdin", 1, 19, "unknown property \"bar\"");
        let text = "{\"values\":{\"foo\":\"${bar}\"}}\n";
        assert_eq!(
            yaml_style(std::slice::from_ref(&d), "default/test-stdin", text),
            "Error: unknown property \"bar\"\n\n  on default/test-stdin line 1:\n   1: {\"values\":{\"foo\":\"${bar}\"}}\n\n"
        );
        assert_eq!(
            yaml_style(&[d], "other", text),
            "Error: unknown property \"bar\"\n\n  on default/test-stdin line 1:\n  (source code not available)\n\n"
        );
    }
}

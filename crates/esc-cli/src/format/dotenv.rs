//! dotenv and shell output (spec/CLI.md § 6.5): `environmentVariables`
//! sorted, then `files` sorted, values Go-quoted; `shell` adds `export `.

use std::io::Write;
use std::path::{Path, PathBuf};

use esc_eval::go_quote;

use crate::format::string::string_form;
use crate::value::{Data, Value};

/// What to do with `files` entries.
pub(crate) enum Files<'a> {
    /// Do not write them; their paths print as `[unknown]` (`env get`).
    Pretend,
    /// Write each to a new 0600 file `esc-<random>` in this directory and
    /// leave it there (`open`, as the reference does).
    WriteIn(&'a Path),
}

/// The scalar entries of the projected variables, in output order, as
/// `(name, text)`; `files` values are the file *contents*.
pub(crate) struct Projection {
    /// `environmentVariables` entries, sorted by name.
    pub(crate) variables: Vec<(String, String)>,
    /// `files` entries, sorted by name.
    pub(crate) files: Vec<(String, String)>,
}

/// Project `root` (the environment's properties) to variables and files.
pub(crate) fn project(root: &Value, redact: bool) -> Projection {
    let section = |name: &str| -> Vec<(String, String)> {
        let Data::Object(props) = &root.data else {
            return Vec::new();
        };
        let Some(Value {
            data: Data::Object(entries),
            ..
        }) = props.get(name)
        else {
            return Vec::new();
        };
        entries
            .iter()
            .filter(|(_, v)| !matches!(v.data, Data::Array(_) | Data::Object(_)))
            .map(|(k, v)| (k.clone(), string_form(v, redact)))
            .collect()
    };
    Projection {
        variables: section("environmentVariables"),
        files: section("files"),
    }
}

/// Render `root` as dotenv (`export_prefix` false) or shell lines.
pub(crate) fn render(
    root: &Value,
    redact: bool,
    files: Files<'_>,
    export_prefix: bool,
) -> std::io::Result<String> {
    let projection = project(root, redact);
    let prefix = if export_prefix { "export " } else { "" };
    let mut out = String::new();
    for (name, text) in &projection.variables {
        out.push_str(&format!("{prefix}{name}={}\n", go_quote(text)));
    }
    for (index, (name, content)) in projection.files.iter().enumerate() {
        let path = match files {
            Files::Pretend => "[unknown]".to_string(),
            Files::WriteIn(dir) => write_temp_file(dir, index, content)?
                .to_string_lossy()
                .into_owned(),
        };
        out.push_str(&format!("{prefix}{name}={}\n", go_quote(&path)));
    }
    Ok(out)
}

/// Write `content` to a new `esc-<index>-<random>` file (mode 0600) in
/// `dir` and keep it; returns its path. `index` numbers the files of one
/// command in creation order.
pub(crate) fn write_temp_file(dir: &Path, index: usize, content: &str) -> std::io::Result<PathBuf> {
    // tempfile creates files with mode 0600 on Unix.
    let mut file = tempfile::Builder::new()
        .prefix(&format!("esc-{index}-"))
        .tempfile_in(dir)?;
    file.write_all(content.as_bytes())?;
    file.flush()?;
    let (_, path) = file.keep().map_err(|e| e.error)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use esc_eval::PlainValue;

    use super::*;

    fn root(props: &str) -> Value {
        let PlainValue::Object(map) = PlainValue::from_json(props).unwrap() else {
            panic!("not an object")
        };
        Value::root_from_wire(&map).unwrap()
    }

    fn golden_root() -> Value {
        // env-get-all-value-shell.yaml, as the check returns it
        root(
            r#"{"environmentVariables":{"value":{
                "NULLV":{},"BOOLEAN":{"value":true},"NUMBER":{"value":3.14},
                "STRING":{"value":"esc"},"OBJECT":{"value":"{\"hello\":\"world\"}"},
                "SECRET":{"value":"secretAccessKey","secret":true},
                "NESTED":{"value":{"x":{"value":"skipped"}}}}},
              "files":{"value":{"FILE":{"value":"esc"}}}}"#,
        )
    }

    #[test]
    fn golden_env_get_shell() {
        let out = render(&golden_root(), true, Files::Pretend, true).unwrap();
        assert_eq!(
            out,
            "export BOOLEAN=\"true\"\nexport NULLV=\"\"\nexport NUMBER=\"3.14\"\nexport OBJECT=\"{\\\"hello\\\":\\\"world\\\"}\"\nexport SECRET=\"[secret]\"\nexport STRING=\"esc\"\nexport FILE=\"[unknown]\"\n"
        );
        let shown = render(&golden_root(), false, Files::Pretend, false).unwrap();
        assert!(shown.contains("SECRET=\"secretAccessKey\"\n"), "{shown}");
        assert!(shown.starts_with("BOOLEAN=\"true\"\n"), "{shown}");
    }

    #[test]
    fn open_writes_private_files_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let r = root(
            r#"{"environmentVariables":{"value":{"FOO":{"value":"bar"}}},
               "files":{"value":{"B_FILE":{"value":"bee"},"A_FILE":{"value":"$x `y`"}}}}"#,
        );
        let out = render(&r, false, Files::WriteIn(dir.path()), true).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "export FOO=\"bar\"");
        for (line, name, content) in [(lines[1], "A_FILE", "$x `y`"), (lines[2], "B_FILE", "bee")] {
            let prefix = format!("export {name}=\"");
            let path = line
                .strip_prefix(&prefix)
                .unwrap()
                .strip_suffix('"')
                .unwrap();
            assert!(path.starts_with(dir.path().to_str().unwrap()));
            assert_eq!(std::fs::read_to_string(path).unwrap(), content);
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}

//! Paging long listings (spec/CLI.md § 6.9: `version history`, `version tag
//! ls`, `tag ls`): the `--pager` command, else `$PAGER`, else `less -R -F`,
//! split into words shell-style and run without a shell. Unlike the Go CLI,
//! which runs the pager whatever stdout is, the pager runs only when stdout
//! is a terminal: pipes, files and transcripts get the text itself. A pager
//! program that is not found, or that fails to start, means the text is
//! written directly.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::messages;

/// The pager used when neither `--pager` nor `$PAGER` names one.
const DEFAULT_PAGER: &str = "less -R -F";

/// Write `text` to stdout through the pager (`flag` = `--pager`).
pub(crate) fn page(text: &str, flag: Option<&str>) -> std::io::Result<()> {
    if !std::io::stdout().is_terminal() {
        return messages::out(text);
    }
    let from_env = std::env::var("PAGER").ok();
    let command = [flag, from_env.as_deref()]
        .into_iter()
        .flatten()
        .find(|c| !c.trim().is_empty())
        .unwrap_or(DEFAULT_PAGER);
    let Some(words) = split_words(command) else {
        return messages::out(text);
    };
    let Some((program, args)) = words.split_first() else {
        return messages::out(text);
    };
    let Some(program) = find_program(program) else {
        return messages::out(text);
    };
    let Ok(mut child) = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
    else {
        return messages::out(text);
    };
    if let Some(mut input) = child.stdin.take() {
        // A pager quit before reading everything closes the pipe: not an error.
        match input.write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
            _ => {}
        }
    }
    child.wait()?;
    Ok(())
}

/// `program` itself when it names a path, else the first executable of that
/// name on `PATH`.
fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return is_executable(&path).then_some(path);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Splits `text` into words like a POSIX shell would (blanks separate,
/// `'...'` is literal, `"..."` keeps blanks and honours `\"`, `\\`, `\$`,
/// `` \` ``, and a backslash outside quotes escapes the next character).
/// No expansions. `None` for an unterminated quote or a trailing backslash.
fn split_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(done) = word.take() {
                    words.push(done);
                }
            }
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        other => current.push(other),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            escaped @ ('"' | '\\' | '$' | '`') => current.push(escaped),
                            '\n' => {}
                            other => {
                                current.push('\\');
                                current.push(other);
                            }
                        },
                        other => current.push(other),
                    }
                }
            }
            '\\' => match chars.next()? {
                '\n' => {}
                escaped => word.get_or_insert_with(String::new).push(escaped),
            },
            other => word.get_or_insert_with(String::new).push(other),
        }
    }
    words.extend(word);
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        let split = |t: &str| split_words(t).unwrap();
        assert_eq!(split("less -R -F"), ["less", "-R", "-F"]);
        assert_eq!(split("  more  "), ["more"]);
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(
            split(r#"sed 's/a b/c/' "x \"y\" $z""#),
            ["sed", "s/a b/c/", r#"x "y" $z"#]
        );
        assert_eq!(split(r"a\ b c''d"), ["a b", "cd"]);
        assert_eq!(split("''"), [""]);
        assert_eq!(split_words("'open"), None);
        assert_eq!(split_words("a\\"), None);
    }

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        assert!(find_program("sh").is_some());
        assert_eq!(find_program("/bin/sh"), Some(PathBuf::from("/bin/sh")));
        assert_eq!(find_program("no-such-pager-esc-test"), None);
        assert_eq!(find_program("/no/such/pager"), None);
    }
}

//! The terminal experience: colour on stderr, a spinner for slow opens and
//! "did you mean" hints. Everything here is for people at a terminal:
//! when stderr is not a terminal (pipes, files, the golden transcripts)
//! nothing of it shows and stderr is byte for byte the plain text.
//!
//! Rules (decided once, by [`init`]):
//! - colour: stderr is a terminal, `NO_COLOR` is unset or empty, and
//!   `TERM` is not `dumb`; only the severity word that starts a line
//!   (`Error:`, `Warning:`, `warning:`) is coloured;
//! - spinner: stderr is a terminal and `TERM` is not `dumb`; it appears only
//!   when an open or rotation takes longer than [`SPINNER_DELAY`], and its
//!   line is erased before the call returns, so nothing it drew is left
//!   behind for later output.

use std::borrow::Cow;
use std::io::IsTerminal as _;
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long an operation runs before the spinner appears.
pub(crate) const SPINNER_DELAY: Duration = Duration::from_secs(1);

/// Time between two spinner frames.
const FRAME_INTERVAL: Duration = Duration::from_millis(80);

/// The spinner's frames (braille dots).
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Carriage return plus "erase the whole line" (ECMA-48 EL 2).
const CLEAR_LINE: &str = "\r\x1b[2K";

const RED_BOLD: &str = "\x1b[1;31m";
const YELLOW_BOLD: &str = "\x1b[1;33m";
const RESET: &str = "\x1b[0m";

/// What stderr can show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Terminal {
    colour: bool,
    spinner: bool,
}

impl Terminal {
    /// The rules of the module doc, from the facts they depend on.
    fn decide(stderr_is_terminal: bool, no_color: Option<&str>, term: Option<&str>) -> Terminal {
        let dumb = term == Some("dumb");
        Terminal {
            colour: stderr_is_terminal && !dumb && no_color.is_none_or(str::is_empty),
            spinner: stderr_is_terminal && !dumb,
        }
    }
}

static TERMINAL: OnceLock<Terminal> = OnceLock::new();

/// Look at stderr and the environment once; before this (unit tests) all
/// output is plain.
pub(crate) fn init() {
    let no_color = std::env::var("NO_COLOR").ok();
    let term = std::env::var("TERM").ok();
    let terminal = Terminal::decide(
        std::io::stderr().is_terminal(),
        no_color.as_deref(),
        term.as_deref(),
    );
    let _ = TERMINAL.set(terminal);
}

fn terminal() -> Terminal {
    TERMINAL.get().copied().unwrap_or_default()
}

/// `text` for stderr: with colour on, the severity word starting any line
/// is coloured; otherwise `text` unchanged.
pub(crate) fn paint_stderr(text: &str) -> Cow<'_, str> {
    if terminal().colour {
        Cow::Owned(paint(text))
    } else {
        Cow::Borrowed(text)
    }
}

/// Colour the severity word at the start of each line.
fn paint(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        let styled = [
            ("Error:", RED_BOLD),
            ("Warning:", YELLOW_BOLD),
            ("warning:", YELLOW_BOLD),
        ]
        .into_iter()
        .find_map(|(word, style)| line.strip_prefix(word).map(|rest| (word, style, rest)));
        match styled {
            Some((word, style, rest)) => {
                out.push_str(style);
                out.push_str(word);
                out.push_str(RESET);
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Shows `⠋ <label>…` on stderr from [`SPINNER_DELAY`] on until dropped;
/// dropping erases the line (and waits until it is erased). Does nothing
/// when stderr is not a terminal.
pub(crate) struct Spinner {
    /// Dropping the sender stops the thread.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Spinner {
    /// Start the spinner's clock for an operation described by `label`.
    pub(crate) fn start(label: String) -> Spinner {
        if !terminal().spinner {
            return Spinner {
                stop: None,
                thread: None,
            };
        }
        Spinner::start_on(label, SPINNER_DELAY, std::io::stderr)
    }

    /// A spinner drawing on `sink` after `delay` (tests draw into a buffer).
    fn start_on<W, F>(label: String, delay: Duration, sink: F) -> Spinner
    where
        W: std::io::Write,
        F: FnOnce() -> W + Send + 'static,
    {
        let (stop, stopped) = mpsc::channel::<()>();
        // A thread rather than a task: the frames keep coming even while
        // the operation holds its runtime thread with synchronous work.
        let thread = std::thread::Builder::new()
            .name("esc-spinner".into())
            .spawn(move || spin(&label, delay, &stopped, sink()))
            .ok();
        Spinner {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The spinner thread: wait `delay`, then draw frames until told to stop,
/// then erase the line if anything was drawn. Write errors end it quietly.
fn spin(label: &str, delay: Duration, stopped: &mpsc::Receiver<()>, mut sink: impl std::io::Write) {
    if !matches!(
        stopped.recv_timeout(delay),
        Err(mpsc::RecvTimeoutError::Timeout)
    ) {
        return;
    }
    let mut drawn = false;
    for frame in FRAMES.iter().cycle() {
        if write!(sink, "\r{frame} {label}…")
            .and_then(|()| sink.flush())
            .is_err()
        {
            break;
        }
        drawn = true;
        if !matches!(
            stopped.recv_timeout(FRAME_INTERVAL),
            Err(mpsc::RecvTimeoutError::Timeout)
        ) {
            break;
        }
    }
    if drawn {
        let _ = sink.write_all(CLEAR_LINE.as_bytes());
        let _ = sink.flush();
    }
}

/// An error with a hint for the person who made it, printed on the lines
/// after the error's own one-line message.
#[derive(Debug)]
pub(crate) struct Hinted {
    /// The error, as it would have been printed.
    pub(crate) error: anyhow::Error,
    /// One or more lines (no final newline).
    pub(crate) hint: String,
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}\n{}", self.error, self.hint)
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.error.as_ref())
    }
}

/// `Did you mean "x"?` or `Did you mean "x", "y" or "z"?`; `None` without
/// candidates.
pub(crate) fn did_you_mean(candidates: &[String]) -> Option<String> {
    let quoted: Vec<String> = candidates.iter().map(|c| esc_eval::go_quote(c)).collect();
    match quoted.as_slice() {
        [] => None,
        [one] => Some(format!("Did you mean {one}?")),
        [init @ .., last] => Some(format!("Did you mean {} or {last}?", init.join(", "))),
    }
}

/// Up to three of `candidates` close to `typed` (optimal string alignment
/// distance at most a third of the length, at least 1, at most 3), closest
/// first; exact matches are not suggestions.
pub(crate) fn closest<'a>(
    typed: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let limit = (typed.chars().count() / 3).clamp(1, 3);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| *c != typed)
        .map(|c| (edit_distance(typed, c), c))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.dedup();
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_owned())
        .collect()
}

/// Optimal string alignment distance (Levenshtein plus adjacent
/// transpositions, each counted 1) over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j] = distance between a[..i] and b[..j]; three rows kept
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color_or_dumb_term() {
        let on = Terminal {
            colour: true,
            spinner: true,
        };
        assert_eq!(Terminal::decide(true, None, Some("xterm")), on);
        assert_eq!(Terminal::decide(true, Some(""), None), on);
        assert_eq!(
            Terminal::decide(true, Some("1"), Some("xterm")),
            Terminal {
                colour: false,
                spinner: true
            }
        );
        assert_eq!(
            Terminal::decide(true, None, Some("dumb")),
            Terminal::default()
        );
        assert_eq!(
            Terminal::decide(false, None, Some("xterm")),
            Terminal::default()
        );
    }

    #[test]
    fn paint_colours_line_initial_severities_only() {
        assert_eq!(
            paint("Error: x: Error: y\nwarning: w\n  Warning: no\nWarning: z\n"),
            "\x1b[1;31mError:\x1b[0m x: Error: y\n\x1b[1;33mwarning:\x1b[0m w\n  Warning: no\n\x1b[1;33mWarning:\x1b[0m z\n"
        );
        assert_eq!(paint("plain\n"), "plain\n");
        // not initialised (as in unit tests): plain
        assert_eq!(paint_stderr("Error: x\n"), "Error: x\n");
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("dev", "dev"), 0);
        assert_eq!(edit_distance("dve", "dev"), 1);
        assert_eq!(edit_distance("dev", "prod"), 4);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ça", "ca"), 1);
    }

    #[test]
    fn closest_names() {
        let names = [
            "proj/dev",
            "proj/prod",
            "proj/dev2",
            "other/dev",
            "proj/staging",
        ];
        assert_eq!(
            closest("proj/dve", names),
            vec!["proj/dev".to_owned(), "proj/dev2".to_owned()]
        );
        assert_eq!(closest("proj/dev", names), vec!["proj/dev2".to_owned()]);
        assert!(closest("zzz/qqq", names).is_empty());
        // short names: at most one edit
        assert_eq!(closest("a/b", ["a/c", "x/y"]), vec!["a/c".to_owned()]);
        let many = ["ab/c1", "ab/c2", "ab/c3", "ab/c4"];
        assert_eq!(closest("ab/c", many).len(), 3);
    }

    #[test]
    fn did_you_mean_lists() {
        assert_eq!(did_you_mean(&[]), None);
        assert_eq!(
            did_you_mean(&["a/b/c".into()]).unwrap(),
            "Did you mean \"a/b/c\"?"
        );
        assert_eq!(
            did_you_mean(&["x".into(), "y".into(), "z".into()]).unwrap(),
            "Did you mean \"x\", \"y\" or \"z\"?"
        );
    }

    /// A `Write` whose bytes the test can read afterwards.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn spinner_draws_after_the_delay_and_erases_its_line() {
        let sink = Shared::default();
        let writer = sink.clone();
        let spinner = Spinner::start_on(
            "opening a/b/c".into(),
            Duration::from_millis(50),
            move || writer,
        );
        std::thread::sleep(Duration::from_millis(400));
        drop(spinner);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.starts_with("\r⠋ opening a/b/c…\r⠙ opening a/b/c…"),
            "{text:?}"
        );
        assert!(text.ends_with(CLEAR_LINE), "{text:?}");
    }

    #[test]
    fn spinner_draws_nothing_for_quick_operations() {
        let sink = Shared::default();
        let writer = sink.clone();
        let spinner =
            Spinner::start_on("opening a/b/c".into(), Duration::from_secs(5), move || {
                writer
            });
        drop(spinner);
        assert!(sink.0.lock().unwrap().is_empty());
    }
}

//! `esc env webhook …` in local mode and against a real `esc serve`, with a
//! real HTTP receiver on 127.0.0.1 taking the deliveries.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::Esc;

/// One request the receiver took: header lines (lower-cased names) and body.
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A receiver answering 200 to every POST, on its own thread.
struct Receiver {
    url: String,
    got: mpsc::Receiver<Received>,
}

impl Receiver {
    fn start() -> Receiver {
        Receiver::answering("200 OK")
    }

    /// A receiver answering every POST with `status` (e.g. "500 Internal Server Error").
    fn answering(status: &'static str) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, got) = mpsc::channel();
        std::thread::spawn(move || {
            // bounded: a test makes a handful of deliveries
            for stream in listener.incoming().take(50) {
                let Ok(mut stream) = stream else { return };
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = Vec::new();
                let mut line = String::new();
                let mut length = 0;
                for _ in 0..100 {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.trim_end().split_once(": ") {
                        let name = name.to_ascii_lowercase();
                        if name == "content-length" {
                            length = value.parse().unwrap_or(0);
                        }
                        headers.push((name, value.to_owned()));
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    )
                    .as_bytes(),
                );
                let _ = tx.send(Received {
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
            }
        });
        Receiver { url, got }
    }

    fn next(&self) -> Received {
        self.got
            .recv_timeout(Duration::from_secs(10))
            .expect("no delivery within 10 s")
    }

    fn nothing_more(&self) {
        assert!(
            self.got.recv_timeout(Duration::from_millis(300)).is_err(),
            "an unexpected delivery"
        );
    }
}

fn local_esc() -> Esc {
    Esc::new()
}

fn loopback(esc: &Esc, args: &[&str]) -> String {
    let out = esc
        .cmd()
        .env("ESC_ALLOW_INSECURE_LOOPBACK_HTTP", "1")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "esc {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A local command is a short-lived process: a failing receiver gets one
/// attempt, recorded, instead of the server's retries holding the command.
#[test]
fn local_mode_tries_a_failing_receiver_once() {
    let esc = local_esc();
    let receiver = Receiver::answering("500 Internal Server Error");
    esc.ok(&["env", "init", "acme/app/dev"]);
    loopback(
        &esc,
        &[
            "env",
            "webhook",
            "new",
            "acme/app/dev",
            "deploy",
            "--url",
            &receiver.url,
            "--event",
            "updated",
        ],
    );
    loopback(&esc, &["env", "set", "acme/app/dev", "a", "1"]);
    let got = receiver.next();
    assert_eq!(got.header("pulumi-webhook-kind"), Some("updated"));
    receiver.nothing_more();
    let listed = esc.ok(&[
        "env",
        "webhook",
        "delivery",
        "ls",
        "acme/app/dev",
        "hook-1",
        "--utc",
    ]);
    assert_eq!(listed.matches("│ updated │").count(), 1, "{listed}");
    assert!(listed.contains("│      500 │"), "{listed}");
}

#[test]
fn local_mode_delivers_before_the_command_exits() {
    let esc = local_esc();
    let receiver = Receiver::start();
    esc.ok(&["env", "init", "acme/app/dev"]);
    assert_eq!(
        loopback(
            &esc,
            &[
                "env",
                "webhook",
                "new",
                "acme/app/dev",
                "deploy",
                "--url",
                &receiver.url,
                "--event",
                "updated",
                "--secret",
                "hook-secret-1",
            ]
        ),
        "Created webhook \"hook-1\" for acme/app/dev; use this name to reference the webhook in other commands.\n"
    );
    loopback(
        &esc,
        &[
            "env",
            "set",
            "acme/app/dev",
            "password",
            "value-8c1f",
            "--secret",
        ],
    );
    let got = receiver.next();
    assert_eq!(got.header("pulumi-webhook-kind"), Some("updated"));
    assert_eq!(
        got.header("pulumi-webhook-signature").map(str::len),
        Some(64),
        "hex HMAC-SHA256"
    );
    assert!(got.body.contains("\"kind\":\"updated\""), "{}", got.body);
    assert!(!got.body.contains("value-8c1f"), "{}", got.body);
    assert!(!got.body.contains("hook-secret-1"), "{}", got.body);

    let listed = esc.ok(&[
        "env",
        "webhook",
        "delivery",
        "ls",
        "acme/app/dev",
        "hook-1",
        "--utc",
    ]);
    assert!(listed.contains("│ updated │"), "{listed}");
    assert!(listed.contains("│      200 │"), "{listed}");
    let get = esc.ok(&["env", "webhook", "get", "acme/app/dev", "hook-1"]);
    assert!(
        get.ends_with("Events: updated\nEvent groups: -\nHas secret: true\n"),
        "{get}"
    );
    assert!(!get.contains("hook-secret-1"));

    // bad input: the CLI's own checks, then the service's
    let error = esc.fails(&[
        "env",
        "webhook",
        "new",
        "acme/app/dev",
        "x",
        "--url",
        "https://a.example/",
        "--format",
        "xml",
    ]);
    assert_eq!(
        error,
        "Error: invalid --format \"xml\": must be one of raw, slack, ms_teams, pulumi_deployments\n"
    );
    let error = esc.fails(&[
        "env",
        "webhook",
        "new",
        "acme/app/dev",
        "x",
        "--url",
        "http://example.com/",
    ]);
    assert!(
        error.starts_with("Error: [400] invalid payload URL"),
        "{error}"
    );
    let error = esc.fails(&[
        "env",
        "webhook",
        "new",
        "acme/app/dev",
        "x",
        "--url",
        "https://a.example/",
        "--event",
        "exploded",
    ]);
    assert!(
        error.contains("unknown webhook event \"exploded\""),
        "{error}"
    );
    let listed = esc.ok(&["env", "webhook", "ls", "acme/app/dev"]);
    assert_eq!(listed.matches("hook-").count(), 1, "{listed}");
    receiver.nothing_more();
}

/// `esc serve` allowing plain http to loopback, on a free port.
struct Server {
    child: Child,
    url: String,
    token: String,
    _home: Esc,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let home = Esc::new();
    let mut child = home
        .std_cmd()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "alice",
            "--allow-insecure-loopback-http",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server did not start");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.len(), 5, "unexpected first line: {line}");
    Server {
        url: words[2].to_string(),
        token: words[4].to_string(),
        child,
        _home: home,
    }
}

#[test]
fn every_webhook_command_works_against_a_server() {
    let server = start_server();
    let receiver = Receiver::start();
    let esc = Esc::new();
    esc.ok(&["login", &server.url, "--token", &server.token]);
    esc.ok(&["env", "init", "app/dev"]);
    assert_eq!(
        esc.ok(&[
            "env",
            "webhook",
            "new",
            "app/dev",
            "deploy",
            "--url",
            &receiver.url,
            "--event",
            "created",
            "--event",
            "updated",
        ]),
        "Created webhook \"hook-1\" for alice/app/dev; use this name to reference the webhook in other commands.\n"
    );
    let table = format!(
        "│ hook-1 │ deploy       │ {} │ true   │ raw    │\n",
        receiver.url
    );
    assert!(
        esc.ok(&["env", "webhook", "list", "app/dev"])
            .contains(&table)
    );
    assert!(
        esc.ok(&["env", "webhook", "ls", "app/dev"])
            .contains(&table)
    );
    assert_eq!(
        esc.ok(&["env", "webhook", "get", "app/dev", "hook-1"]),
        format!(
            "Name: hook-1\nDisplay name: deploy\nURL: {}\nActive: true\nFormat: raw\nEvents: created, updated\nEvent groups: -\nHas secret: false\n",
            receiver.url
        )
    );
    assert_eq!(
        esc.ok(&[
            "env",
            "webhook",
            "edit",
            "app/dev",
            "hook-1",
            "--add-event",
            "rotated",
            "--remove-event",
            "created",
            "--secret",
            "s3cret-77"
        ]),
        "Updated webhook hook-1 for alice/app/dev\n"
    );
    let get = esc.ok(&["env", "webhook", "get", "app/dev", "hook-1"]);
    assert!(
        get.ends_with("Events: updated, rotated\nEvent groups: -\nHas secret: true\n"),
        "{get}"
    );

    // a write reaches the receiver through the server's queue
    esc.ok(&["env", "set", "app/dev", "foo", "bar"]);
    let got = receiver.next();
    assert_eq!(got.header("pulumi-webhook-kind"), Some("updated"));
    assert!(got.header("pulumi-webhook-signature").is_some());

    esc.ok(&[
        "env",
        "webhook",
        "edit",
        "app/dev",
        "hook-1",
        "--active=false",
        "--remove-secret",
    ]);
    let ping = esc.ok(&["env", "webhook", "ping", "app/dev", "hook-1"]);
    assert!(ping.starts_with("ID: "), "{ping}");
    assert!(
        ping.contains("\nKind: ping\nResponse code: 200\nDuration (ms): "),
        "{ping}"
    );
    let got = receiver.next();
    assert_eq!(got.header("pulumi-webhook-kind"), Some("ping"));
    assert!(got.header("pulumi-webhook-signature").is_none());

    let deliveries = esc.ok(&[
        "env", "webhook", "delivery", "list", "app/dev", "hook-1", "--utc",
    ]);
    let lines: Vec<&str> = deliveries.lines().collect();
    assert_eq!(lines.len(), 6, "{deliveries}");
    assert!(lines[1].starts_with("│ ID "), "{deliveries}");
    assert!(
        lines[3].contains("│ ping    │") && lines[3].contains("│      200 │"),
        "{deliveries}"
    );
    assert!(lines[4].contains("│ updated │"), "{deliveries}");
    let json = esc.ok(&[
        "env", "webhook", "delivery", "ls", "app/dev", "hook-1", "--output", "json",
    ]);
    assert!(json.starts_with("[\n  {\n"), "{json}");

    assert_eq!(
        esc.ok(&["env", "webhook", "rm", "app/dev", "hook-1"]),
        "Removed webhook hook-1 from alice/app/dev\n"
    );
    assert_eq!(esc.ok(&["env", "webhook", "list", "app/dev"]), "");
    let error = esc.fails(&["env", "webhook", "get", "app/dev", "hook-1"]);
    assert_eq!(
        error,
        "Error: [404] Not Found: webhook 'hook-1' not found\n"
    );
}

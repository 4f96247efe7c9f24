//! Webhook deliveries against a real HTTP/1.1 receiver on 127.0.0.1 (a raw
//! socket server, so it can misbehave: close without answering, hang, send
//! huge heads and endless bodies): failed deliveries are retried with a
//! growing wait and every attempt is recorded, final answers are not
//! retried, the retry backlog is bounded, closing ends the waits, and what
//! is kept of a response is bounded.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use esc_service::{
    ATTEMPT_HEADER, AccessPolicy, Caller, DeliveryRecord, NewWebhook, ProviderRegistry, Service,
    ServiceConfig, WebhookConfig, WebhookUpdate,
};
use esc_store::{EnvRef, MasterKey, SqlStore, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the receiver answers one connection.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// This status, a short body.
    Status(u16),
    /// Close the connection without answering.
    Close,
    /// Answer nothing for this long, then close.
    Hang(Duration),
    /// 200 with `n` headers of `len` bytes each and an endless body.
    Flood { n_headers: usize, len: usize },
}

/// A request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    at: Instant,
    head: String,
    body: String,
}

impl Got {
    /// A request header's value (names compared without case).
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// A receiver answering its `n`-th connection (from 0) with `script(n)`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(script: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let seen = got.clone();
        let task = tokio::spawn(async move {
            for n in 0.. {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (script, seen) = (script.clone(), seen.clone());
                tokio::spawn(async move {
                    let _ = answer(socket, script(n), &seen).await;
                });
            }
        });
        Self { url, got, task }
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (at most 20 s) until `n` requests came.
    async fn wait_for(&self, n: usize) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.got();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head up to 64 KiB, body by Content-Length), notes
/// it, answers.
async fn answer(
    mut socket: TcpStream,
    answer: Answer,
    seen: &Mutex<Vec<Got>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > 65536 {
            return Ok(());
        }
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length.min(1 << 20) {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..]).into_owned();
    seen.lock().unwrap().push(Got {
        at: Instant::now(),
        head,
        body,
    });
    match answer {
        Answer::Status(code) => {
            let text = format!(
                "HTTP/1.1 {code} Scripted\r\ncontent-type: text/plain\r\ncontent-length: 8\r\nconnection: close\r\n\r\nanswered"
            );
            socket.write_all(text.as_bytes()).await?;
        }
        Answer::Close => {}
        Answer::Hang(time) => tokio::time::sleep(time).await,
        Answer::Flood { n_headers, len } => {
            let mut head = String::from("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n");
            for idx in 0..n_headers {
                head.push_str(&format!("x-flood-{idx}: {}\r\n", "v".repeat(len)));
            }
            // "endless": more than anyone should read, written until the
            // client hangs up (bounded: 1 GiB)
            head.push_str("content-length: 1073741824\r\n\r\n");
            socket.write_all(head.as_bytes()).await?;
            let block = vec![b'b'; 65536];
            for _ in 0..16384 {
                socket.write_all(&block).await?;
            }
        }
    }
    socket.shutdown().await
}

fn root() -> Caller {
    Caller {
        login: "root".into(),
        name: "root".into(),
    }
}

fn env() -> EnvRef {
    EnvRef::new("acme", "app", "dev")
}

async fn service(dir: &std::path::Path, webhooks: WebhookConfig) -> Service {
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::open_sqlite(dir, MasterKey::generate().unwrap())
            .await
            .unwrap(),
    );
    let service = Service::new(
        store,
        Arc::new(ProviderRegistry::new()),
        ServiceConfig {
            access: AccessPolicy {
                admins: vec!["root".into()],
                memberships: Vec::new(),
            },
            webhooks: WebhookConfig {
                allow_insecure_loopback_http: true,
                ..webhooks
            },
            ..ServiceConfig::default()
        },
    );
    service.create_environment(&root(), &env()).await.unwrap();
    service
}

async fn add_hook(service: &Service, name: &str, url: &str) {
    service
        .create_webhook(
            &root(),
            &env(),
            &NewWebhook {
                name: name.into(),
                display_name: name.into(),
                payload_url: url.into(),
                format: String::new(),
                filters: vec!["updated".into()],
                groups: Vec::new(),
                active: true,
                secret: String::new(),
            },
        )
        .await
        .unwrap();
}

/// One write: queues an `updated` event.
async fn write(service: &Service, round: usize) {
    service
        .update(
            &root(),
            &env(),
            &format!("values:\n  round: {round}\n"),
            None,
        )
        .await
        .unwrap();
}

/// The hook's deliveries, oldest first.
async fn deliveries(service: &Service, hook: &str) -> Vec<DeliveryRecord> {
    let mut listed = service
        .webhook_deliveries(&root(), &env(), hook, 0)
        .await
        .unwrap();
    listed.reverse();
    listed
}

fn quick_retries() -> WebhookConfig {
    WebhookConfig {
        total_timeout: Duration::from_millis(800),
        retry_delay: Duration::from_millis(150),
        ..WebhookConfig::default()
    }
}

#[tokio::test]
async fn a_failing_delivery_is_retried_with_growing_waits_until_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path(), quick_retries()).await;
    // a broken connection, then a 503, then success
    let receiver = Receiver::start(|n| match n {
        0 => Answer::Close,
        1 => Answer::Status(503),
        _ => Answer::Status(200),
    })
    .await;
    add_hook(&service, "flaky", &receiver.url).await;
    write(&service, 1).await;
    service.wait_for_webhooks(Duration::from_secs(20)).await;

    let got = receiver.got();
    assert_eq!(got.len(), 3, "{got:?}");
    // the same event each time; retries say which attempt they are
    assert!(got.iter().all(|g| g.body == got[0].body), "{got:?}");
    assert!(
        got[0].body.contains("\"kind\":\"updated\""),
        "{}",
        got[0].body
    );
    let attempts: Vec<Option<String>> = got.iter().map(|g| g.header(ATTEMPT_HEADER)).collect();
    assert_eq!(attempts, [None, Some("2".into()), Some("3".into())]);
    // 150 ms before the first retry, 300 ms before the second
    let first_wait = got[1].at - got[0].at;
    let second_wait = got[2].at - got[1].at;
    assert!(first_wait >= Duration::from_millis(150), "{first_wait:?}");
    assert!(second_wait >= Duration::from_millis(300), "{second_wait:?}");

    // every attempt is a delivery of its own
    let listed = deliveries(&service, "flaky").await;
    let codes: Vec<Option<u16>> = listed.iter().map(|d| d.response_code).collect();
    assert_eq!(codes, [None, Some(503), Some(200)]);
    assert!(listed.iter().all(|d| d.kind == "updated"));
    assert!(listed.iter().all(|d| d.payload == got[0].body));
    assert!(listed[1].request_headers.contains("Esc-Webhook-Attempt: 2"));
    assert!(!listed[0].request_headers.contains(ATTEMPT_HEADER));
    assert_eq!(listed[2].response_body, "answered");
    assert!(!listed[0].response_body.is_empty());
}

#[tokio::test]
async fn a_timed_out_delivery_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path(), quick_retries()).await;
    let receiver = Receiver::start(|n| match n {
        0 => Answer::Hang(Duration::from_secs(5)),
        _ => Answer::Status(204),
    })
    .await;
    add_hook(&service, "slow", &receiver.url).await;
    write(&service, 1).await;
    service.wait_for_webhooks(Duration::from_secs(20)).await;
    let listed = deliveries(&service, "slow").await;
    let codes: Vec<Option<u16>> = listed.iter().map(|d| d.response_code).collect();
    assert_eq!(codes, [None, Some(204)]);
    assert_eq!(listed[0].response_body, "timed out");
    assert_eq!(receiver.got().len(), 2);
}

#[tokio::test]
async fn a_delivery_that_always_fails_stops_after_the_last_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path(), quick_retries()).await;
    let failing = Receiver::start(|_| Answer::Status(500)).await;
    let refusing = Receiver::start(|_| Answer::Status(404)).await;
    // nothing listens here any more: connections are refused
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}/hook", listener.local_addr().unwrap())
    };
    add_hook(&service, "failing", &failing.url).await;
    add_hook(&service, "refusing", &refusing.url).await;
    add_hook(&service, "closed", &closed).await;
    write(&service, 1).await;
    service.wait_for_webhooks(Duration::from_secs(20)).await;
    // waits of 150 + 300 ms: a fourth attempt would have come by now
    tokio::time::sleep(Duration::from_millis(1500)).await;

    assert_eq!(failing.got().len(), 3);
    let codes: Vec<Option<u16>> = deliveries(&service, "failing")
        .await
        .iter()
        .map(|d| d.response_code)
        .collect();
    assert_eq!(codes, [Some(500); 3]);
    // a 4xx is the receiver's final word: not retried
    assert_eq!(refusing.got().len(), 1);
    assert_eq!(deliveries(&service, "refusing").await.len(), 1);
    // cannot connect: retried, every attempt recorded with why
    let listed = deliveries(&service, "closed").await;
    assert_eq!(listed.len(), 3);
    for delivery in &listed {
        assert_eq!(delivery.response_code, None);
        assert!(
            delivery.response_body.starts_with("cannot connect"),
            "{}",
            delivery.response_body
        );
    }
}

#[tokio::test]
async fn writes_never_wait_and_closing_ends_the_retry_waits() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(
        dir.path(),
        WebhookConfig {
            retry_delay: Duration::from_secs(60),
            ..WebhookConfig::default()
        },
    )
    .await;
    let receiver = Receiver::start(|_| Answer::Status(502)).await;
    add_hook(&service, "down", &receiver.url).await;
    let started = Instant::now();
    for round in 0..10 {
        write(&service, round).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "10 writes took {:?}",
        started.elapsed()
    );
    // every first attempt failed; each now waits 60 s for its retry
    assert_eq!(receiver.wait_for(10).await.len(), 10);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let closing = Instant::now();
    service.close_webhooks(Duration::from_secs(10)).await;
    assert!(
        closing.elapsed() < Duration::from_secs(2),
        "closing took {:?}",
        closing.elapsed()
    );
    // nothing is tried again after closing, and the failures are recorded
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.got().len(), 10);
    assert_eq!(deliveries(&service, "down").await.len(), 10);
    // a failure after closing is recorded and not retried either
    write(&service, 99).await;
    service.wait_for_webhooks(Duration::from_secs(10)).await;
    assert_eq!(receiver.got().len(), 11);
}

#[tokio::test]
async fn retries_waiting_at_once_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(
        dir.path(),
        WebhookConfig {
            retry_delay: Duration::from_secs(3),
            max_attempts: 2,
            max_waiting_retries: 1,
            ..WebhookConfig::default()
        },
    )
    .await;
    let first = Receiver::start(|_| Answer::Status(500)).await;
    let second = Receiver::start(|_| Answer::Status(500)).await;
    add_hook(&service, "first", &first.url).await;
    add_hook(&service, "second", &second.url).await;
    write(&service, 1).await;
    service.wait_for_webhooks(Duration::from_secs(20)).await;
    // both failed at once; only one could wait for its retry
    let attempts = (first.got().len(), second.got().len());
    assert!(
        attempts == (2, 1) || attempts == (1, 2),
        "attempts per hook: {attempts:?}"
    );
}

#[tokio::test]
async fn what_is_kept_of_a_response_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path(), WebhookConfig::default()).await;
    let ping = |hook: &'static str| {
        let service = service.clone();
        async move {
            let started = Instant::now();
            let record = service.ping_webhook(&root(), &env(), hook).await.unwrap();
            (record, started.elapsed())
        }
    };

    // 60 headers of 3 KiB (within hyper's limits) and an endless body
    let flood = Receiver::start(|_| Answer::Flood {
        n_headers: 60,
        len: 3072,
    })
    .await;
    add_hook(&service, "flood", &flood.url).await;
    let (record, took) = ping("flood").await;
    assert_eq!(record.response_code, Some(200));
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(record.response_body.len(), 4096);
    assert!(record.response_body.bytes().all(|b| b == b'b'));
    assert!(
        record.response_headers.len() <= 4096 + 64,
        "{} bytes of headers kept",
        record.response_headers.len()
    );
    assert!(
        record
            .response_headers
            .starts_with("content-type: text/plain\n"),
        "{}",
        record.response_headers
    );
    let kept: Vec<&str> = record.response_headers.lines().collect();
    assert!(kept.len() <= 33, "{} lines", kept.len());
    // each value cut at 256 bytes, and what was left out is counted
    assert!(kept[1].starts_with("x-flood-0: "), "{}", kept[1]);
    assert!(
        kept[1].ends_with(" [cut]") && kept[1].len() < 300,
        "{}",
        kept[1]
    );
    let last = kept.last().unwrap();
    assert!(
        last.starts_with('[') && last.ends_with(" more headers not kept]"),
        "{last}"
    );

    // more headers than hyper accepts, and one head larger than its buffer:
    // the delivery fails, with little kept
    let many = Receiver::start(|_| Answer::Flood {
        n_headers: 1000,
        len: 8,
    })
    .await;
    let huge = Receiver::start(|_| Answer::Flood {
        n_headers: 1,
        len: 1 << 20,
    })
    .await;
    add_hook(&service, "many", &many.url).await;
    add_hook(&service, "huge", &huge.url).await;
    for hook in ["many", "huge"] {
        let (record, took) = ping(hook).await;
        assert_eq!(record.response_code, None, "{hook}");
        assert!(record.response_headers.is_empty(), "{hook}");
        assert!(
            record.response_body.starts_with("request failed") && record.response_body.len() < 200,
            "{hook}: {}",
            record.response_body
        );
        assert!(took < Duration::from_secs(5), "{hook}: {took:?}");
    }
    // ping is tried once, even when it failed
    assert_eq!(many.got().len(), 1);
    assert_eq!(deliveries(&service, "many").await.len(), 1);
}

/// A hook changed while its delivery waits for a retry: the retry uses the
/// hook as it is then (a rotated secret must not sign it, a new URL gets
/// it), and a deactivated or deleted hook is not tried again.
#[tokio::test]
async fn a_retry_reads_the_hook_as_it_is_then() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(
        dir.path(),
        WebhookConfig {
            // long enough for the changes below to land during the wait
            retry_delay: Duration::from_secs(2),
            max_attempts: 2,
            ..WebhookConfig::default()
        },
    )
    .await;
    let old = Receiver::start(|_| Answer::Status(503)).await;
    let new = Receiver::start(|_| Answer::Status(200)).await;
    let deactivated = Receiver::start(|_| Answer::Status(503)).await;
    let deleted = Receiver::start(|_| Answer::Status(503)).await;
    for (name, url) in [
        ("moved", &old.url),
        ("deactivated", &deactivated.url),
        ("deleted", &deleted.url),
    ] {
        service
            .create_webhook(
                &root(),
                &env(),
                &NewWebhook {
                    name: name.into(),
                    display_name: name.into(),
                    payload_url: url.clone(),
                    format: String::new(),
                    filters: vec!["updated".into()],
                    groups: Vec::new(),
                    active: true,
                    secret: "the-first-secret".into(),
                },
            )
            .await
            .unwrap();
    }
    write(&service, 1).await;
    for receiver in [&old, &deactivated, &deleted] {
        assert_eq!(receiver.wait_for(1).await.len(), 1);
    }
    let update = |url: &str, active: bool| WebhookUpdate {
        active,
        display_name: "changed".into(),
        payload_url: url.to_owned(),
        filters: Some(vec!["updated".into()]),
        groups: None,
        format: None,
        secret: Some("the-rotated-secret".into()),
    };
    service
        .update_webhook(&root(), &env(), "moved", &update(&new.url, true))
        .await
        .unwrap();
    service
        .update_webhook(
            &root(),
            &env(),
            "deactivated",
            &update(&deactivated.url, false),
        )
        .await
        .unwrap();
    service
        .delete_webhook(&root(), &env(), "deleted")
        .await
        .unwrap();
    service.wait_for_webhooks(Duration::from_secs(20)).await;

    // the retry went to the new URL, signed with the new secret
    let (first, retried) = (old.got(), new.got());
    assert_eq!((first.len(), retried.len()), (1, 1));
    assert_eq!(retried[0].header(ATTEMPT_HEADER).as_deref(), Some("2"));
    assert_eq!(retried[0].body, first[0].body);
    let signature = |got: &Got| got.header("Pulumi-Webhook-Signature").unwrap();
    assert_ne!(signature(&retried[0]), signature(&first[0]));
    let codes: Vec<Option<u16>> = deliveries(&service, "moved")
        .await
        .iter()
        .map(|d| d.response_code)
        .collect();
    assert_eq!(codes, [Some(503), Some(200)]);
    // no retry for a hook deactivated or deleted meanwhile
    assert_eq!(deactivated.got().len(), 1);
    assert_eq!(deleted.got().len(), 1);
    assert_eq!(deliveries(&service, "deactivated").await.len(), 1);
}

//! The request log as an operator sees it: at info, a request that
//! succeeds or is refused writes nothing, a fault writes one line with the
//! method, route template, status and the fault (on PostgreSQL: dropping a
//! table makes a real store fault); at debug, events inside a request carry
//! its method and route. Never a path value, token or secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use esc_server::HttpLimits;
use esc_store::{MasterKey, SqlStore, Store};
use reqwest::{Method, StatusCode};

use crate::harness::{E, TestServer, create_env, fresh_database, patch_yaml, sqlite_server};

/// The log lines written while the guard lives (this thread: the tests
/// run the server on their current-thread runtime).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn install(level: tracing::Level) -> (Self, tracing::subscriber::DefaultGuard) {
        let captured = Self::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRET: &str = "hunter2-request-log";
const OPEN_ROUTE: &str = r#"route="/api/esc/environments/{org}/{project}/{env}/open"#;

#[tokio::test]
async fn a_fault_is_one_line_with_method_route_and_cause() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let (captured, _guard) = Captured::install(tracing::Level::INFO);
    let store = SqlStore::connect_postgres(&url, MasterKey::from_bytes(&[9; 32]).unwrap(), 2)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let server = TestServer::over(store, HttpLimits::default()).await;
    create_env(&server, "app", "dev").await;
    let yaml = format!("values:\n  password: {{fn::secret: {SECRET}}}\n");
    assert_eq!(
        patch_yaml(&server, E, &yaml, None).await.status,
        StatusCode::OK
    );
    captured.clear();
    let opened = server.call(Method::POST, &format!("{E}/open"), None).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    let missing = server
        .call(Method::GET, "/api/esc/environments/acme/app/nope", None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // requests that succeed or are refused write nothing at info
    assert_eq!(captured.text(), "", "logged at info without a fault");

    // a real fault: the store's tables are gone
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("DROP TABLE sessions, session_results CASCADE")
        .await
        .unwrap();
    let failed = server.call(Method::POST, &format!("{E}/open"), None).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        failed
            .body
            .contains("the server could not complete the request"),
        "{}",
        failed.body
    );
    let session_id = "0123456789abcdef0123456789abcdef0123456789ab";
    let read = server
        .call(Method::GET, &format!("{E}/open/{session_id}"), None)
        .await;
    assert_eq!(
        read.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        read.body
    );

    let text = captured.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "one line per failed request:\n{text}");
    let open_line = lines[0];
    for part in [
        "ERROR",
        "request failed",
        "method=POST",
        &format!("{OPEN_ROUTE}\" "),
        "status=500",
        "latency_ms=",
        "error=",
        "sessions",
    ] {
        assert!(open_line.contains(part), "{part:?} missing: {open_line}");
    }
    let read_line = lines[1];
    for part in [
        "method=GET",
        &format!("{OPEN_ROUTE}/{{session}}\""),
        "status=500",
    ] {
        assert!(read_line.contains(part), "{part:?} missing: {read_line}");
    }
    for leak in [SECRET, session_id, &server.token] {
        assert!(!text.contains(leak), "the log shows {leak:?}:\n{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn at_debug_events_inside_a_request_name_it() {
    let (captured, _guard) = Captured::install(tracing::Level::DEBUG);
    let (server, _dir) = sqlite_server().await;
    captured.clear();
    let missing = server
        .call(Method::GET, "/api/esc/environments/acme/app/nope", None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let text = captured.text();
    // the refusal (logged by the error map inside the handler) and the
    // request's end both carry the request span
    let span = r#"request{method=GET route="/api/esc/environments/{org}/{project}/{env}"}"#;
    let refused = text
        .lines()
        .find(|line| line.contains("request refused"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{text}"));
    assert!(refused.contains(span), "{refused}");
    let finished = text
        .lines()
        .find(|line| line.contains("request finished"))
        .unwrap_or_else(|| panic!("no end logged:\n{text}"));
    assert!(finished.contains(span), "{finished}");
    assert!(finished.contains("status=404"), "{finished}");
    assert!(!text.contains(&server.token), "the log shows the token");
    server.stop().await;
}

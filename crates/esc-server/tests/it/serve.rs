//! `start`/`run` as `esc serve` uses them: a data directory, an admin token
//! on first start only, JWKS and discovery documents, graceful shutdown.

use std::time::Duration;

use esc_server::{ServeConfig, start};

use crate::started::Served;

async fn get(url: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("token {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Runs `started` in a task (a first start: its bootstrap token is the admin's).
fn run(started: esc_server::StartedServer) -> Served {
    Served::run(started, None)
}

#[tokio::test]
async fn first_start_bootstraps_admin_and_serves_until_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        ..ServeConfig::default()
    };
    let started = start(config.clone()).await.unwrap();
    let token =
        String::from_utf8(started.bootstrap_token.as_ref().unwrap().expose().to_vec()).unwrap();
    assert!(
        !format!("{:?}", started.bootstrap_token).contains(&token),
        "Debug hides the token"
    );
    let server = run(started);
    let url = server.url.clone();

    let (status, user) = get(&format!("{url}/api/user"), Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(user["githubLogin"], "admin");
    let (status, _) = get(&format!("{url}/api/user"), Some("esc_wrong")).await;
    assert_eq!(status, 401);
    for path in esc_oidc::JWKS_PATHS {
        let (status, jwks) = get(&format!("{url}{path}"), None).await;
        assert_eq!(status, 200, "{path}");
        let keys = jwks["keys"].as_array().unwrap();
        assert!(!keys.is_empty(), "{path}: {jwks}");
        assert_eq!(keys[0]["kty"], "RSA");
        assert!(keys[0].get("d").is_none(), "no private parts in the JWKS");
    }
    let (status, discovery) = get(&format!("{url}/.well-known/openid-configuration"), None).await;
    assert_eq!(status, 200);
    assert_eq!(discovery["issuer"], url);
    assert_eq!(discovery["jwks_uri"], format!("{url}/.well-known/jwks"));
    server.stop().await;

    // second start on the same data: no new token, the old one still works
    let again = start(config).await.unwrap();
    assert!(again.bootstrap_token.is_none());
    let url = format!("http://{}", again.address);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(again.run(async {
        let _ = rx.await;
    }));
    let (status, _) = get(&format!("{url}/api/user"), Some(&token)).await;
    assert_eq!(status, 200);
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// `esc serve` wires the built-in providers to its own issuer: an environment
/// with `fn::open::external` opened through the API calls a real adapter,
/// which verifies the request against the server's published JWKS.
#[tokio::test]
async fn external_open_is_signed_by_the_servers_own_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        allow_insecure_loopback_http: true,
        ..ServeConfig::default()
    };
    let server = run(start(config).await.unwrap());
    let (url, token) = (server.url.clone(), server.token.clone());

    // the adapter trusts only this server's issuer and JWKS
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let adapter_url = format!("http://{}/", listener.local_addr().unwrap());
    let verifier =
        esc_adapter::Verifier::new(esc_adapter::VerifierConfig::new(&url, &adapter_url)).unwrap();
    let state = env_adapter::AppState {
        verifier: std::sync::Arc::new(verifier),
        values: std::sync::Arc::new(
            [("DB_PASSWORD".to_owned(), "s3cr3t-from-adapter".to_owned())].into(),
        ),
        allowed_orgs: Some(std::sync::Arc::new(vec!["admin".to_owned()])),
    };
    let adapter = tokio::spawn(async move {
        axum::serve(listener, env_adapter::app(state))
            .await
            .unwrap();
    });

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let auth = format!("token {token}");
    let env = format!("{url}/api/esc/environments/admin/app/dev");
    let created = client
        .post(format!("{url}/api/esc/environments/admin"))
        .header("Authorization", &auth)
        .body(r#"{"project":"app","name":"dev"}"#)
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let definition = format!(
        "values:\n  db:\n    fn::open::external:\n      url: {adapter_url}\n      request:\n        name: DB_PASSWORD\n  missing:\n    fn::open::external:\n      url: {adapter_url}\n      request:\n        name: NOPE\n"
    );
    let updated = client
        .patch(&env)
        .header("Authorization", &auth)
        .body(definition)
        .send()
        .await
        .unwrap();
    assert!(updated.status().is_success(), "{}", updated.status());

    let opened = client
        .post(format!("{env}/open"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    let status = opened.status();
    let body = opened.text().await.unwrap();
    // the adapter answers 404 for `NOPE`: the open reports it, naming the status
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("404"), "{body}");
    assert!(!body.contains("s3cr3t-from-adapter"), "{body}");

    // without the failing call the open succeeds and reveals the adapter's value
    let fixed = format!(
        "values:\n  db:\n    fn::open::external:\n      url: {adapter_url}\n      request:\n        name: DB_PASSWORD\n"
    );
    let updated = client
        .patch(&env)
        .header("Authorization", &auth)
        .body(fixed)
        .send()
        .await
        .unwrap();
    assert!(updated.status().is_success(), "{}", updated.status());
    let opened = client
        .post(format!("{env}/open"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    let status = opened.status();
    let opened: serde_json::Value = serde_json::from_str(&opened.text().await.unwrap()).unwrap();
    assert_eq!(status, 200, "{opened}");
    let id = opened["id"].as_str().unwrap();
    let read: serde_json::Value = client
        .get(format!("{env}/open/{id}"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let db = &read["properties"]["db"];
    assert_eq!(db["secret"], true, "{read}");
    assert_eq!(
        db["value"]["response"]["value"]["value"]["value"], "s3cr3t-from-adapter",
        "{read}"
    );

    adapter.abort();
    server.stop().await;
}

/// A webhook receiver on 127.0.0.1 that answers every delivery with 500
/// and counts them.
async fn failing_receiver() -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, count, task)
}

#[tokio::test]
async fn shutdown_ends_webhook_retries_and_does_not_wait_for_them() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let started = start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        allow_insecure_loopback_http: true,
        ..ServeConfig::default()
    })
    .await
    .unwrap();
    let server = run(started);
    let (url, token) = (server.url.clone(), server.token.clone());
    let (hook_url, deliveries, receiver) = failing_receiver().await;
    let client = reqwest::Client::new();
    let auth = format!("token {token}");
    let env = format!("{url}/api/esc/environments/acme/app/dev");
    let created = client
        .post(format!("{url}/api/esc/environments/acme"))
        .header("Authorization", &auth)
        .body(r#"{"project":"app","name":"dev"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 204);
    let hook = client
        .post(format!("{env}/hooks"))
        .header("Authorization", &auth)
        .body(
            serde_json::json!({"displayName": "down", "payloadUrl": hook_url, "active": true})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status().as_u16(), 200, "{:?}", hook.text().await);
    let patched = client
        .patch(&env)
        .header("Authorization", &auth)
        .header("Content-Type", "application/x-yaml")
        .body("values:\n  a: 1\n")
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status().as_u16(), 200);
    // the first attempt fails; its retry would come 1 s later
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while deliveries.load(Ordering::SeqCst) == 0 {
        assert!(std::time::Instant::now() < deadline, "no delivery");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopping = std::time::Instant::now();
    server.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        stopping.elapsed()
    );
    // waits of 1 s and 2 s would have brought two retries by now
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(deliveries.load(Ordering::SeqCst), 1);
    receiver.abort();
}

/// The server deletes expired open sessions itself, every
/// `session_purge_interval`, and leaves unexpired ones readable.
#[tokio::test]
async fn expired_sessions_are_deleted_by_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let (store, _) = esc_store::SqlStore::open(esc_store::Location::Embedded(&data_dir))
        .await
        .unwrap();
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir,
        session_purge_interval: Duration::from_millis(50),
        ..ServeConfig::default()
    };
    let server = run(esc_server::start_with_store(config, store.clone())
        .await
        .unwrap());
    let url = format!("{}/api/esc/environments/acme", server.url);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let auth = format!("token {}", server.token);
    let created = client
        .post(&url)
        .header("Authorization", &auth)
        .body(r#"{"project":"app","name":"dev"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 204);
    let open = |duration: &'static str| {
        let request = client
            .post(format!("{url}/app/dev/open?duration={duration}"))
            .header("Authorization", &auth);
        async move {
            let opened = request.send().await.unwrap();
            assert_eq!(opened.status(), 200);
            let body: serde_json::Value = opened.json().await.unwrap();
            body["id"].as_str().unwrap().to_owned()
        }
    };
    let _short = open("1ms").await;
    let long = open("1h").await;
    // twenty purge intervals
    tokio::time::sleep(Duration::from_secs(1)).await;
    let left = store
        .purge_expired_sessions(esc_store::Timestamp::now())
        .await
        .unwrap();
    assert_eq!(left, 0, "the server left an expired session in the store");
    let read = client
        .get(format!("{url}/app/dev/open/{long}"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200, "an unexpired session stays");
    server.stop().await;
}

/// Connections that send nothing, stay idle after a response, or trickle a
/// request's head are closed after `idle_timeout` (hyper's header read
/// timeout, which `axum::serve` never armed: such connections were held
/// forever and enough of them used up the process's file descriptors).
#[tokio::test]
async fn idle_and_slow_connections_are_closed() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    /// Reads until the server closes the connection (bounded); what it sent.
    async fn until_closed(stream: &mut TcpStream) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        assert!(read.is_ok(), "still open after 15 s");
        String::from_utf8_lossy(&got).into_owned()
    }

    let dir = tempfile::tempdir().unwrap();
    let started = start(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        idle_timeout: Duration::from_millis(500),
        ..ServeConfig::default()
    })
    .await
    .unwrap();
    let address = started.address;
    let server = run(started);

    // sends nothing at all
    let mut silent = TcpStream::connect(address).await.unwrap();
    until_closed(&mut silent).await;

    // one request, answered, then idle on a kept-alive connection
    let mut idle = TcpStream::connect(address).await.unwrap();
    idle.write_all(b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut idle).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // a head trickled a byte at a time, never finished
    let mut slow = TcpStream::connect(address).await.unwrap();
    let trickle = async {
        for byte in b"GET /.well-known/openid-configuration HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*byte]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(15), trickle)
            .await
            .unwrap(),
        "the server read the whole trickled head"
    );

    // the server still serves everyone else
    let (status, _) = get(
        &format!("{}/.well-known/openid-configuration", server.url),
        None,
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}

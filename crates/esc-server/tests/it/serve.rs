//! `start`/`run` as `esc serve` uses them: a data directory, an admin token
//! on first start only, JWKS and discovery documents, graceful shutdown.

use std::time::Duration;

use esc_server::{ServeConfig, start};

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
    let url = format!("http://{}", started.address);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(started.run(async {
        let _ = rx.await;
    }));

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

    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

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

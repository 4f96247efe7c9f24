//! OpenBao's JWT auth method, pointed at our JWKS, accepts our tokens and refuses a foreign
//! key's and a wrong audience's: an independent verifier of issuer, keys and claims.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use esc_oidc::{SigningKey, TokenRequest};

use crate::support::{JwksServer, env, issuer, part, service};

const ISSUER: &str = "https://esc.example.com";
const AUDIENCE: &str = "https://adapter.example.com/fetch";

/// A `bao server -dev` on a free 127.0.0.1 port, killed on drop.
struct Bao {
    child: std::process::Child,
    address: String,
}

impl Bao {
    async fn start(binary: &str) -> Bao {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(binary)
            .args([
                "server",
                "-dev",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                "-dev-root-token-id=root",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let bao = Bao {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health = client
                .get(format!("{}/v1/sys/health", bao.address))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if health.is_ok_and(|response| response.status().is_success()) {
                break bao;
            }
            assert!(
                Instant::now() < deadline,
                "bao did not become ready in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn write(&self, path: &str, body: serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/{path}", self.address))
            .header("X-Vault-Token", "root")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_success(),
            "{path}: {status} {}",
            response.text().await.unwrap()
        );
    }

    async fn login(&self, jwt: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/v1/auth/jwt/login", self.address))
            .json(&serde_json::json!({"role": "esc", "jwt": jwt}))
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn openbao_jwt_auth_accepts_our_tokens_and_refuses_forgeries() {
    let Some(binary) = service("ESC_TEST_BAO") else {
        return;
    };
    let issuer = Arc::new(issuer(ISSUER));
    let jwks = JwksServer::start(Arc::clone(&issuer)).await;
    let bao = Bao::start(&binary).await;
    bao.write("sys/auth/jwt", serde_json::json!({"type": "jwt"}))
        .await;
    bao.write(
        "auth/jwt/config",
        serde_json::json!({
            "jwks_url": format!("{}/.well-known/jwks", jwks.base_url),
            "bound_issuer": ISSUER,
            "jwt_supported_algs": ["RS256"],
        }),
    )
    .await;
    bao.write(
        "auth/jwt/role/esc",
        serde_json::json!({
            "role_type": "jwt",
            "bound_audiences": [AUDIENCE],
            "user_claim": "sub",
            "bound_claims": {"org": "acme"},
            "claim_mappings": {"current_env": "current_env"},
            "policies": ["default"],
        }),
    )
    .await;

    let current = env("acme", "payments", "prod");
    let request = TokenRequest {
        audience: AUDIENCE,
        current_env: &current,
        root_env: &current,
        trigger_user: "alice",
    };
    let token = issuer.mint(&request, b"{}").unwrap();
    let (status, body) = bao.login(&token).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["auth"]["client_token"]
            .as_str()
            .is_some_and(|token| !token.is_empty())
    );
    assert_eq!(
        body["auth"]["metadata"]["current_env"],
        "acme/payments/prod"
    );

    // Same header and claims, signed by a key that is not in the JWKS.
    let foreign = SigningKey::generate().unwrap();
    let signed = token.rsplit_once('.').unwrap().0;
    let forged = format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(foreign.sign_rs256(signed.as_bytes()).unwrap())
    );
    assert_eq!(part(&forged, 1), part(&token, 1));
    let (status, body) = bao.login(&forged).await;
    assert_eq!(status, 400, "foreign key accepted: {body}");

    let wrong_audience = issuer
        .mint(
            &TokenRequest {
                audience: "https://other.example.com/",
                ..request
            },
            b"{}",
        )
        .unwrap();
    let (status, body) = bao.login(&wrong_audience).await;
    assert_eq!(status, 400, "wrong audience accepted: {body}");

    let other_org = env("evil", "payments", "prod");
    let wrong_org = issuer
        .mint(
            &TokenRequest {
                current_env: &other_org,
                ..request
            },
            b"{}",
        )
        .unwrap();
    let (status, body) = bao.login(&wrong_org).await;
    assert_eq!(status, 400, "unbound org accepted: {body}");
}

//! Minted tokens carry every claim of CONNECT.md section 3 and verify with the published
//! key, checked here without esc-adapter (plain aws-lc-rs RSA verification).

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use esc_oidc::{Issuer, IssuerConfig, TokenRequest, UnixTime};

use crate::support::{JwksServer, env, issuer, part};

#[test]
fn token_has_every_contract_claim_and_verifies_with_the_jwks_key() {
    let issuer = issuer("https://esc.example.com");
    let current = env("acme", "payments", "prod");
    let root = env("acme", "apps", "web");
    let body = br#"{"secretName":"DATABASE_PASSWORD"}"#;
    let now = UnixTime(1_800_000_000);
    let request = TokenRequest {
        audience: "https://adapter.example.com/fetch-secrets",
        current_env: &current,
        root_env: &root,
        trigger_user: "alice",
    };
    let token = issuer.mint_at(&request, body, now).unwrap();

    let header = part(&token, 0);
    let jwks = issuer.jwks_at(now);
    assert_eq!(jwks.keys.len(), 1);
    let jwk = &jwks.keys[0];
    assert_eq!(
        header,
        serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": jwk.kid})
    );

    let claims = part(&token, 1);
    let expected_hash = format!(
        "sha256-{}",
        STANDARD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body))
    );
    let jti = claims["jti"].as_str().unwrap().to_owned();
    assert_eq!(
        claims,
        serde_json::json!({
            "iss": "https://esc.example.com",
            "sub": "pulumi:environments:org:acme:env:payments/prod",
            "aud": "https://adapter.example.com/fetch-secrets",
            // issued one second early (clock skew allowance), valid 300 s from then
            "exp": 1_800_000_299u64,
            "iat": 1_799_999_999u64,
            "nbf": 1_799_999_999u64,
            "jti": jti,
            "org": "acme",
            "env": "payments/prod",
            "current_env": "acme/payments/prod",
            "root_env": "acme/apps/web",
            "trigger_user": "alice",
            "body_hash": expected_hash,
        })
    );
    // UUID v4: 8-4-4-4-12 hex, version nibble 4.
    assert_eq!(jti.len(), 36);
    assert_eq!(&jti[14..15], "4");

    let (signed, signature) = token.rsplit_once('.').unwrap();
    let public = RsaPublicKeyComponents {
        n: URL_SAFE_NO_PAD.decode(&jwk.n).unwrap(),
        e: URL_SAFE_NO_PAD.decode(&jwk.e).unwrap(),
    };
    assert!(public.n.len() >= 256, "modulus shorter than 2048 bits");
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    public
        .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature)
        .unwrap();
    let mut tampered = signed.as_bytes().to_vec();
    tampered[10] ^= 1;
    assert!(
        public
            .verify(&RSA_PKCS1_2048_8192_SHA256, &tampered, &signature)
            .is_err()
    );
}

#[test]
fn every_token_gets_a_fresh_jti_and_the_configured_lifetime() {
    let mut config = IssuerConfig::new("https://esc.example.com");
    config.token_lifetime = Duration::from_secs(60);
    let issuer = Issuer::ephemeral(config, UnixTime::now()).unwrap();
    let current = env("o", "p", "e");
    let request = TokenRequest {
        audience: "https://a.example/",
        current_env: &current,
        root_env: &current,
        trigger_user: "u",
    };
    let first = part(&issuer.mint(&request, b"{}").unwrap(), 1);
    let second = part(&issuer.mint(&request, b"{}").unwrap(), 1);
    assert_ne!(first["jti"], second["jti"]);
    let lifetime = first["exp"].as_u64().unwrap() - first["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 60);
}

#[test]
fn lifetime_beyond_the_rotation_policy_is_refused() {
    let mut config = IssuerConfig::new("https://esc.example.com");
    config.token_lifetime = config.rotation.max_token_lifetime + Duration::from_secs(1);
    assert!(matches!(
        Issuer::ephemeral(config, UnixTime::now()),
        Err(esc_oidc::Error::Config(_))
    ));
    assert!(matches!(
        Issuer::ephemeral(IssuerConfig::new("esc.example.com"), UnixTime::now()),
        Err(esc_oidc::Error::Config(_))
    ));
}

#[tokio::test]
async fn jwks_and_discovery_are_served_at_every_documented_path() {
    let issuer = Arc::new(issuer("https://esc.example.com"));
    let kid = issuer.jwks().keys[0].kid.clone();
    let server = JwksServer::start(Arc::clone(&issuer)).await;
    let client = reqwest::Client::new();
    for path in [
        "/.well-known/jwks",
        "/.well-known/jwks.json",
        "/oidc/.well-known/jwks",
    ] {
        let jwks: serde_json::Value = client
            .get(format!("{}{path}", server.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jwks["keys"][0]["kid"], kid.as_str(), "{path}");
        assert_eq!(jwks["keys"][0]["kty"], "RSA");
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
        assert_eq!(jwks["keys"][0]["use"], "sig");
        assert!(
            jwks["keys"][0].get("d").is_none(),
            "private exponent published"
        );
    }
    let discovery: serde_json::Value = client
        .get(format!(
            "{}/.well-known/openid-configuration",
            server.base_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], "https://esc.example.com");
    assert_eq!(
        discovery["jwks_uri"],
        "https://esc.example.com/.well-known/jwks"
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        discovery["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert!(discovery["response_types_supported"].is_array());
    let claims = discovery["claims_supported"].as_array().unwrap();
    for claim in ["sub", "aud", "jti", "current_env", "root_env", "body_hash"] {
        assert!(claims.iter().any(|c| c == claim), "{claim}");
    }
}

#[test]
fn keys_weaker_than_rs256_2048_are_refused() {
    // Throwaway keys made with `openssl genpkey` (PKCS#8 DER): RSA 1024 and
    // EC P-256 (not RSA, so no RS256).
    for (name, der) in [
        ("rsa-1024", &include_bytes!("../data/rsa-1024.pk8")[..]),
        ("ec-p256", &include_bytes!("../data/ec-p256.pk8")[..]),
    ] {
        let Err(err) = esc_oidc::SigningKey::from_pkcs8(der) else {
            panic!("{name}: accepted");
        };
        assert!(
            matches!(err, esc_oidc::Error::KeyRejected { .. }),
            "{name}: {err}"
        );
        // The message names no key material.
        assert!(!err.to_string().contains("MII"), "{name}: {err}");
    }
    let strong = esc_oidc::SigningKey::generate().unwrap();
    assert!(esc_oidc::SigningKey::from_pkcs8(strong.pkcs8_der()).is_ok());
}

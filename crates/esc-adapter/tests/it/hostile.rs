//! The hostile-token suite: each forged, stale, misaddressed or replayed request is refused
//! with 401 and a fixed reason that carries nothing from the token, key or body; the
//! genuine request is accepted once.

use aws_lc_rs::encoding::AsDer as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use esc_adapter::VerifierConfig;
use esc_oidc::{SigningKey, UnixTime};

use crate::support::{
    AUDIENCE, Adapter, ISSUER, JwksServer, forge_rs256, mint, new_issuer, part, post_to,
};

const BODY: &[u8] = br#"{"name":"DATABASE_PASSWORD"}"#;

/// The PEM of the issuer's public key, the classic secret of an HS256 confusion attack.
fn public_key_pem(jwk: &esc_oidc::Jwk) -> String {
    let components = aws_lc_rs::rsa::PublicKeyComponents {
        n: URL_SAFE_NO_PAD.decode(&jwk.n).unwrap(),
        e: URL_SAFE_NO_PAD.decode(&jwk.e).unwrap(),
    };
    let der = components.as_der().unwrap();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(der.as_ref())
    )
}

fn hs256(header: &serde_json::Value, claims: &serde_json::Value, secret: &[u8]) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

#[tokio::test]
async fn hostile_tokens_are_refused_with_401_and_a_reason_that_leaks_nothing() {
    let issuer = new_issuer();
    let signing_key = issuer.snapshot().active().unwrap().clone();
    let jwks = serde_json::to_value(issuer.jwks()).unwrap();
    let jwk = issuer.jwks().keys[0].clone();
    let server = JwksServer::start(jwks).await;
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.keys = esc_adapter::KeySource::Url(server.url.clone());
    let adapter = Adapter::start(config).await;
    let now = UnixTime::now();

    // Accept path, then the same token again.
    let genuine = mint(&issuer, AUDIENCE, BODY, now);
    let (status, _, body) = post_to(&adapter.url, Some(&format!("Bearer {genuine}")), BODY).await;
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "org": "acme",
            "current_env": "acme/payments/prod",
            "root_env": "acme/apps/web",
            "trigger_user": "alice",
            "body_len": BODY.len(),
        })
    );

    let fresh = || mint(&issuer, AUDIENCE, BODY, now);
    let header_of = |token: &str| part(token, 0);
    let claims_of = |token: &str| part(token, 1);
    let with_claim = |name: &str, value: serde_json::Value| {
        let token = fresh();
        let mut claims = claims_of(&token);
        claims[name] = value;
        forge_rs256(&header_of(&token), &claims, &signing_key)
    };
    let foreign = SigningKey::generate().unwrap();

    let alg_none = {
        let token = fresh();
        let header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": jwk.kid});
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims_of(&token).to_string())
        )
    };
    let hs256_confusion = {
        let token = fresh();
        let header = serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": jwk.kid});
        hs256(&header, &claims_of(&token), public_key_pem(&jwk).as_bytes())
    };
    let hs256_with_jwk_n = {
        let token = fresh();
        let header = serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": jwk.kid});
        hs256(&header, &claims_of(&token), jwk.n.as_bytes())
    };
    let rs512 = {
        let token = fresh();
        let header = serde_json::json!({"alg": "RS512", "typ": "JWT", "kid": jwk.kid});
        forge_rs256(&header, &claims_of(&token), &signing_key)
    };
    let foreign_same_kid = {
        let token = fresh();
        forge_rs256(&header_of(&token), &claims_of(&token), &foreign)
    };
    let foreign_with_jku = {
        let token = fresh();
        let header = serde_json::json!({
            "alg": "RS256", "typ": "JWT", "kid": jwk.kid,
            "jku": "http://127.0.0.1:9/attacker-jwks",
            "jwk": foreign.public_jwk(),
        });
        forge_rs256(&header, &claims_of(&token), &foreign)
    };
    let unknown_kid = {
        let token = fresh();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "no-such-key"});
        forge_rs256(&header, &claims_of(&token), &signing_key)
    };
    let no_kid = {
        let token = fresh();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        forge_rs256(&header, &claims_of(&token), &signing_key)
    };
    let missing_body_hash = {
        let token = fresh();
        let mut claims = claims_of(&token);
        claims.as_object_mut().unwrap().remove("body_hash");
        forge_rs256(&header_of(&token), &claims, &signing_key)
    };
    let flipped_signature = {
        let token = fresh();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        signature[0] ^= 1;
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    };
    let body_for_other = mint(&issuer, AUDIENCE, br#"{"name":"OTHER"}"#, now);

    let cases: Vec<(&str, Option<String>, &[u8], &str)> = vec![
        (
            "replayed jti",
            Some(format!("Bearer {genuine}")),
            BODY,
            "token replayed",
        ),
        (
            "alg none",
            Some(format!("Bearer {alg_none}")),
            BODY,
            "unsupported algorithm",
        ),
        (
            "HS256 keyed with the public key PEM",
            Some(format!("Bearer {hs256_confusion}")),
            BODY,
            "unsupported algorithm",
        ),
        (
            "HS256 keyed with the modulus",
            Some(format!("Bearer {hs256_with_jwk_n}")),
            BODY,
            "unsupported algorithm",
        ),
        (
            "RS512",
            Some(format!("Bearer {rs512}")),
            BODY,
            "unsupported algorithm",
        ),
        (
            "wrong aud",
            Some(format!(
                "Bearer {}",
                mint(&issuer, "https://adapter.example.com/other", BODY, now)
            )),
            BODY,
            "wrong audience",
        ),
        (
            "aud with trailing slash",
            Some(format!(
                "Bearer {}",
                mint(&issuer, "https://adapter.example.com/fetch/", BODY, now)
            )),
            BODY,
            "wrong audience",
        ),
        (
            "wrong iss",
            Some(format!(
                "Bearer {}",
                with_claim("iss", "https://evil.example.com".into())
            )),
            BODY,
            "wrong issuer",
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                mint(
                    &issuer,
                    AUDIENCE,
                    BODY,
                    now.minus(std::time::Duration::from_secs(600))
                )
            )),
            BODY,
            "token expired",
        ),
        (
            "nbf in the future",
            Some(format!(
                "Bearer {}",
                mint(
                    &issuer,
                    AUDIENCE,
                    BODY,
                    now.plus(std::time::Duration::from_secs(600))
                )
            )),
            BODY,
            "token not yet valid",
        ),
        (
            "exp too far ahead",
            Some(format!(
                "Bearer {}",
                with_claim("exp", (now.0 + 7 * 24 * 3600).into())
            )),
            BODY,
            "token lifetime too long",
        ),
        (
            "body changed after signing",
            Some(format!("Bearer {body_for_other}")),
            BODY,
            "body hash mismatch",
        ),
        (
            "unknown kid",
            Some(format!("Bearer {unknown_kid}")),
            BODY,
            "unknown signing key",
        ),
        (
            "no kid",
            Some(format!("Bearer {no_kid}")),
            BODY,
            "missing key id",
        ),
        (
            "foreign key, same kid",
            Some(format!("Bearer {foreign_same_kid}")),
            BODY,
            "invalid signature",
        ),
        (
            "foreign key offered through jku/jwk",
            Some(format!("Bearer {foreign_with_jku}")),
            BODY,
            "invalid signature",
        ),
        (
            "flipped signature bit",
            Some(format!("Bearer {flipped_signature}")),
            BODY,
            "invalid signature",
        ),
        (
            "missing body_hash",
            Some(format!("Bearer {missing_body_hash}")),
            BODY,
            "missing claim body_hash",
        ),
        (
            "no authorization header",
            None,
            BODY,
            "missing bearer token",
        ),
        (
            "basic scheme",
            Some(String::from("Basic dXNlcjpwYXNz")),
            BODY,
            "malformed authorization header",
        ),
        (
            "bearer without token",
            Some(String::from("Bearer ")),
            BODY,
            "malformed authorization header",
        ),
        (
            "garbage token",
            Some(String::from("Bearer garbage")),
            BODY,
            "malformed token",
        ),
        (
            "three dots of junk",
            Some(String::from("Bearer ...")),
            BODY,
            "malformed token",
        ),
        (
            "junk in three parts",
            Some(String::from("Bearer a!b.c$d.e%f")),
            BODY,
            "malformed token",
        ),
        (
            "four parts",
            Some(format!("Bearer {}.x", fresh())),
            BODY,
            "malformed token",
        ),
    ];

    let jti = claims_of(&genuine)["jti"].as_str().unwrap().to_owned();
    let n_cases = cases.len();
    for (name, authorization, body, reason) in cases {
        let (status, challenge, response) =
            post_to(&adapter.url, authorization.as_deref(), body).await;
        assert_eq!(status, 401, "{name}: {response}");
        assert_eq!(
            challenge.as_deref(),
            Some("Bearer error=\"invalid_token\""),
            "{name}"
        );
        let response: serde_json::Value = serde_json::from_str(&response).unwrap();
        assert_eq!(response, serde_json::json!({ "error": reason }), "{name}");
        let text = response.to_string();
        for secret in [
            jti.as_str(),
            jwk.kid.as_str(),
            "acme",
            "DATABASE_PASSWORD",
            ISSUER,
            AUDIENCE,
        ] {
            assert!(!text.contains(secret), "{name}: response leaks {secret}");
        }
    }
    assert_eq!(n_cases, 25);
}

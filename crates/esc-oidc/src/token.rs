//! The ESC Connect claims, `body_hash`, and encoding a signed RS256 JWT.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::{Error, SigningKey, UnixTime};

/// Every claim name a token carries, in the order of CONNECT.md section 3.
pub(crate) const CLAIM_NAMES: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "org",
    "env",
    "current_env",
    "root_env",
    "trigger_user",
    "body_hash",
];

/// A fully qualified environment: organization, project and environment name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnvRef {
    /// Organization name.
    pub org: String,
    /// Project name.
    pub project: String,
    /// Environment name.
    pub name: String,
}

impl EnvRef {
    /// `<org>/<project>/<env>`.
    pub fn qualified(&self) -> String {
        format!("{}/{}/{}", self.org, self.project, self.name)
    }

    /// `<project>/<env>`, the legacy form used in `env` and `sub`.
    pub fn legacy(&self) -> String {
        format!("{}/{}", self.project, self.name)
    }
}

/// What a token is minted for: one call to one adapter.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    /// The adapter `url` exactly as written in the environment; becomes `aud`.
    pub audience: &'a str,
    /// The environment being evaluated (where the `fn::open::external` is).
    pub current_env: &'a EnvRef,
    /// The environment that was opened (root of the import chain).
    pub root_env: &'a EnvRef,
    /// The user, token or schedule that caused the call.
    pub trigger_user: &'a str,
}

/// The claims of an ESC Connect token (CONNECT.md section 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectClaims {
    /// The issuer's public base URL.
    pub iss: String,
    /// `pulumi:environments:org:<org>:env:<project>/<env>`.
    pub sub: String,
    /// The adapter URL as written.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Not before, Unix seconds.
    pub nbf: u64,
    /// A fresh UUID v4 per token.
    pub jti: String,
    /// Organization of the current environment.
    pub org: String,
    /// `<project>/<env>` of the current environment (legacy form).
    pub env: String,
    /// `<org>/<project>/<env>` of the environment being evaluated.
    pub current_env: String,
    /// `<org>/<project>/<env>` of the environment that was opened.
    pub root_env: String,
    /// Who or what triggered the call.
    pub trigger_user: String,
    /// `sha256-` + standard padded base64 of SHA-256 of the body bytes.
    pub body_hash: String,
}

/// `sha256-` + standard padded base64 of the SHA-256 of `body`, as in the `body_hash` claim.
pub fn body_hash(body: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body);
    format!("sha256-{}", STANDARD.encode(digest.as_ref()))
}

/// The `sub` claim for an environment: `pulumi:environments:org:<org>:env:<project>/<env>`.
pub fn subject(env: &EnvRef) -> String {
    format!("pulumi:environments:org:{}:env:{}", env.org, env.legacy())
}

/// How far `iat` and `nbf` are set before the minting time. An adapter
/// whose clock is a little behind ours would otherwise see a token issued
/// in its future: PyJWT 2.10+ (the published examples' library) refuses an
/// `iat` later than its own clock with no leeway by default.
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(1);

/// The claims for `request` over `body`, issued by `issuer` at `now` for
/// `lifetime`: valid from `now` minus [`CLOCK_SKEW_ALLOWANCE`], for
/// `lifetime` from then.
pub(crate) fn claims(
    issuer: &str,
    request: &TokenRequest<'_>,
    body: &[u8],
    now: UnixTime,
    lifetime: Duration,
) -> ConnectClaims {
    let issued = now.minus(CLOCK_SKEW_ALLOWANCE);
    ConnectClaims {
        iss: issuer.to_owned(),
        sub: subject(request.current_env),
        aud: request.audience.to_owned(),
        exp: issued.plus(lifetime).0,
        iat: issued.0,
        nbf: issued.0,
        jti: uuid::Uuid::new_v4().to_string(),
        org: request.current_env.org.clone(),
        env: request.current_env.legacy(),
        current_env: request.current_env.qualified(),
        root_env: request.root_env.qualified(),
        trigger_user: request.trigger_user.to_owned(),
        body_hash: body_hash(body),
    }
}

/// `header.claims.signature`, header `{"alg":"RS256","kid":…,"typ":"JWT"}`.
pub(crate) fn encode_jwt(key: &SigningKey, claims: &ConnectClaims) -> Result<String, Error> {
    #[derive(Serialize)]
    struct Header<'a> {
        alg: &'static str,
        kid: &'a str,
        typ: &'static str,
    }
    let header = Header {
        alg: "RS256",
        kid: key.kid(),
        typ: "JWT",
    };
    // Serialising these plain structs cannot fail: strings and integers only.
    let header_json = serde_json::to_vec(&header).map_err(|_| Error::Signing {
        kid: key.kid().to_owned(),
    })?;
    let claims_json = serde_json::to_vec(claims).map_err(|_| Error::Signing {
        kid: key.kid().to_owned(),
    })?;
    let mut token = URL_SAFE_NO_PAD.encode(header_json);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims_json, &mut token);
    let signature = key.sign_rs256(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_hash_of_empty_object_matches_independent_value() {
        // printf '{}' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            body_hash(b"{}"),
            "sha256-RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o="
        );
    }

    #[test]
    fn subject_uses_project_and_env() {
        let env = EnvRef {
            org: String::from("acme"),
            project: String::from("payments"),
            name: String::from("prod"),
        };
        assert_eq!(
            subject(&env),
            "pulumi:environments:org:acme:env:payments/prod"
        );
        assert_eq!(env.qualified(), "acme/payments/prod");
    }
}

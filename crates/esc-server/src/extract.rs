//! Extractors that reject in the API's error shape: the authenticated
//! caller, the raw body (413 over the limit), JSON bodies, query maps.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use esc_service::Caller;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// The caller named by `Authorization: token <t>` (or `Bearer <t>`).
pub(crate) struct Authed(pub(crate) Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "no access token"))?;
        let header = header.to_str().map_err(|_| {
            ApiError::new(StatusCode::UNAUTHORIZED, "malformed Authorization header")
        })?;
        Ok(Self(
            state.service.authenticate(access_token(header)?).await?,
        ))
    }
}

/// The token of an `Authorization` header value: scheme `token` or
/// `Bearer`, matched case-insensitively (RFC 9110 § 11.1), then the token.
fn access_token(header: &str) -> Result<&str, ApiError> {
    let (scheme, token) = header
        .trim()
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((header.trim(), ""));
    let token = token.trim();
    if !(scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
        || token.is_empty()
    {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the Authorization header must be 'token <access token>'",
        ));
    }
    Ok(token)
}

/// The request body as bytes; too large → 413 in the error shape.
pub(crate) struct RawBody(pub(crate) Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        Bytes::from_request(request, state)
            .await
            .map(Self)
            .map_err(|rejection| {
                let status = rejection.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        status,
                        format!("the request body exceeds {} bytes", state.limits.body_bytes),
                    )
                } else {
                    ApiError::new(status, rejection.body_text())
                }
            })
    }
}

impl RawBody {
    /// The body as UTF-8 text (YAML bodies). Otherwise 400 with the
    /// reason also as a diagnostic: the SDKs' check reads only
    /// `diagnostics` from a 400, and would take a bare message for success.
    pub(crate) fn text(&self) -> Result<&str, ApiError> {
        std::str::from_utf8(&self.0).map_err(|error| {
            ApiError::bad_definition(format!(
                "the body is not UTF-8 text (byte {})",
                error.valid_up_to()
            ))
        })
    }

    /// The body as JSON of type `T`; an empty body is `{}`.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let bytes: &[u8] = if self.0.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.0
        };
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|error| ApiError::bad_request(format!("invalid JSON body: {error}")))?;
        if !value.is_object() {
            return Err(ApiError::bad_request(
                "invalid JSON body: expected an object",
            ));
        }
        serde_path_to_error::deserialize(value).map_err(|error| {
            let field = error.path().to_string();
            let reason = plain_serde_reason(&error.inner().to_string());
            ApiError::bad_request(if field == "." {
                format!("invalid JSON body: {reason}")
            } else {
                format!("invalid JSON body: field '{field}': {reason}")
            })
        })
    }
}

/// serde's message without Rust's names for types, which mean nothing to a
/// client ("expected u64" -> "expected a non-negative integer").
fn plain_serde_reason(message: &str) -> String {
    let mut reason = message.to_owned();
    for (rust, plain) in [
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected u16", "expected a non-negative integer"),
        ("expected usize", "expected a non-negative integer"),
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer"),
    ] {
        if let Some(rest) = reason.strip_suffix(rust) {
            reason = format!("{rest}{plain}");
        }
    }
    if let Some(start) = reason.find("expected struct ") {
        reason.truncate(start);
        reason.push_str("expected an object");
    }
    reason
}

/// Query parameters; an empty value counts as absent (spec/API.md § 1.6).
pub(crate) struct Params(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(map) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("malformed query string"))?;
        Ok(Self(map))
    }
}

impl Params {
    /// A non-empty parameter.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// A numeric parameter.
    pub(crate) fn number(&self, key: &str) -> Result<Option<u64>, ApiError> {
        self.get(key)
            .map(|value| {
                value.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "query parameter '{key}' must be a non-negative whole number"
                    ))
                })
            })
            .transpose()
    }

    /// A boolean parameter (`true`/`false`).
    pub(crate) fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::bad_request(format!(
                "query parameter '{key}' must be true or false"
            ))),
        }
    }
}

/// Path parameters by name (percent-decoded, as the router matched them:
/// no copy per request).
pub(crate) struct Segments(axum::extract::RawPathParams);

impl<S: Send + Sync> FromRequestParts<S> for Segments {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map(Self)
            .map_err(|_| ApiError::bad_request("malformed path"))
    }
}

impl Segments {
    /// A path parameter (routes guarantee their own names exist).
    pub(crate) fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find_map(|(name, value)| (name == key).then_some(value))
            .unwrap_or("")
    }

    /// The environment `E` of the path.
    pub(crate) fn env(&self) -> esc_store::EnvRef {
        esc_store::EnvRef::new(self.get("org"), self.get("project"), self.get("env"))
    }
}

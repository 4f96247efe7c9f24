//! The axum extractor: verify the request, hand the handler the claims and the body.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::{Claims, Verifier, VerifyError};

/// A verified ESC Connect request: its claims and its exact body.
///
/// Use it as the last argument of a handler whose state provides `Arc<Verifier>` (directly
/// or through [`FromRef`]). A request that fails verification never reaches the handler:
/// it is answered with [`Rejection`]. Its `Debug` shows the claims and the body's length
/// only: a request body may carry values derived from secrets.
#[derive(Clone)]
pub struct Verified {
    /// The verified claims (`org`, `current_env`, `root_env`, `trigger_user`, ...).
    pub claims: Claims,
    /// The body bytes the `body_hash` was checked against.
    pub body: Bytes,
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("claims", &self.claims)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Verified {
    /// The body parsed as JSON; a body that does not parse is answered 400 by the
    /// [`Rejection`] this returns.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Rejection> {
        serde_json::from_slice(&self.body).map_err(|_| Rejection(RejectionKind::InvalidJson))
    }
}

/// Why the extractor refused a request. Answers with the failure's status (401, or 503
/// when the adapter cannot verify anything), a `WWW-Authenticate` header on 401, and a
/// JSON body `{"error": "<short reason>"}` that leaks nothing.
#[derive(Debug)]
pub struct Rejection(RejectionKind);

#[derive(Debug)]
enum RejectionKind {
    Verify(VerifyError),
    BodyUnreadable,
    InvalidJson,
}

impl Rejection {
    /// The verification failure, when that is why the request was refused.
    pub fn verify_error(&self) -> Option<&VerifyError> {
        match &self.0 {
            RejectionKind::Verify(err) => Some(err),
            RejectionKind::BodyUnreadable | RejectionKind::InvalidJson => None,
        }
    }
}

impl From<VerifyError> for Rejection {
    fn from(err: VerifyError) -> Rejection {
        Rejection(RejectionKind::Verify(err))
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let (status, reason) = match &self.0 {
            RejectionKind::Verify(err) => (err.status(), err.to_string()),
            RejectionKind::BodyUnreadable => (
                StatusCode::PAYLOAD_TOO_LARGE,
                String::from("body too large or unreadable"),
            ),
            RejectionKind::InvalidJson => (
                StatusCode::BAD_REQUEST,
                String::from("body is not valid JSON"),
            ),
        };
        tracing::debug!(%status, %reason, "esc connect request refused");
        let mut response =
            (status, axum::Json(serde_json::json!({ "error": reason }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

impl<S> FromRequest<S> for Verified
where
    S: Send + Sync,
    Arc<Verifier>: FromRef<S>,
{
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &S) -> Result<Verified, Rejection> {
        let verifier = Arc::<Verifier>::from_ref(state);
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, verifier.config().max_body_bytes)
            .await
            .map_err(|_| Rejection(RejectionKind::BodyUnreadable))?;
        let claims = verifier.verify(&parts.headers, &body).await?;
        Ok(Verified { claims, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_claims_but_not_the_body() {
        let verified = Verified {
            claims: Claims {
                iss: String::from("https://esc.example.com"),
                sub: String::from("pulumi:environments:org:acme:env:p/e"),
                aud: String::from("https://adapter.example.com/"),
                exp: 2,
                iat: 1,
                nbf: 1,
                jti: String::from("jti"),
                org: String::from("acme"),
                env: String::from("p/e"),
                current_env: String::from("acme/p/e"),
                root_env: String::from("acme/p/e"),
                trigger_user: String::from("alice"),
                body_hash: String::from("sha256-x"),
            },
            body: Bytes::from_static(br#"{"password":"hunter2"}"#),
        };
        let debug = format!("{verified:?}");
        assert!(debug.contains("acme/p/e"), "{debug}");
        assert!(debug.contains("body_len: 22"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}

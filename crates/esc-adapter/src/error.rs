//! Why a request was refused, and why a verifier could not be built.

use axum::http::StatusCode;

/// Why a request failed verification. The `Display` text is the reason sent to the caller:
/// it names the failed check and leaks nothing else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `Authorization` header.
    #[error("missing bearer token")]
    MissingToken,
    /// The `Authorization` header is not `Bearer <token>`, or there are several.
    #[error("malformed authorization header")]
    MalformedAuthorization,
    /// The token is not three base64url JSON parts, or a claim has the wrong type.
    #[error("malformed token")]
    MalformedToken,
    /// The header's `alg` is anything but `RS256` (`none`, HS*, ES*, PS*, ...).
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The header has no `kid`.
    #[error("missing key id")]
    MissingKeyId,
    /// No published key has the header's `kid` (after a rate-limited refetch).
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify with the named key.
    #[error("invalid signature")]
    BadSignature,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not name this adapter's configured URL.
    #[error("wrong audience")]
    WrongAudience,
    /// `exp` is past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `exp` lies further ahead than the configured maximum token lifetime.
    #[error("token lifetime too long")]
    LifetimeTooLong,
    /// A required claim is absent.
    #[error("missing claim {claim}")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// `body_hash` does not match the body received.
    #[error("body hash mismatch")]
    BodyHashMismatch,
    /// This `jti` was already accepted and has not expired.
    #[error("token replayed")]
    Replayed,
    /// The replay cache is full of unexpired entries; refusing rather than forgetting one.
    #[error("replay cache full")]
    ReplayCacheFull,
    /// The JWKS has never been fetched successfully, so nothing can be verified.
    #[error("signing keys unavailable")]
    KeysUnavailable,
}

impl VerifyError {
    /// The HTTP status to answer with: 401 for anything wrong with the request, 503 when the
    /// adapter itself cannot verify (keys unavailable, replay cache full).
    pub fn status(&self) -> StatusCode {
        match self {
            VerifyError::KeysUnavailable | VerifyError::ReplayCacheFull => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// Why a [`crate::VerifierConfig`] was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field has an unusable value.
    #[error("invalid verifier configuration: {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The HTTP client for fetching the JWKS could not be built.
    #[error("building the JWKS HTTP client failed")]
    HttpClient(#[source] reqwest::Error),
}

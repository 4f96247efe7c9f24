//! The one error-to-response map: every failure becomes
//! `{"code": <status>, "message": "…"}` (plus `diagnostics` for definition
//! errors). Caller mistakes keep their text and are logged at debug;
//! internal faults get a generic body and are handed to the request log
//! ([`crate::log`]) as a [`Fault`] extension of the response, which logs
//! them once, with the request's method and route.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use esc_service::ServiceError;
use esc_syntax::{Diagnostic, Severity};
use serde::Serialize;

use crate::log::Fault;
use crate::wire::json_response;

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    diagnostics: Option<Vec<WireDiagnostic>>,
    /// The internal fault behind a 5xx (for the request log only).
    fault: Option<Fault>,
}

impl ApiError {
    /// An error with a status and a message (the status's reason phrase is prefixed).
    pub fn new(status: StatusCode, message: impl std::fmt::Display) -> Self {
        let reason = status.canonical_reason().unwrap_or("Error");
        Self {
            status,
            message: format!("{reason}: {message}"),
            diagnostics: None,
            fault: None,
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 for a definition that cannot be read at all: the message, and
    /// the same text as the one (rangeless) diagnostic.
    pub fn bad_definition(summary: impl Into<String>) -> Self {
        let summary = summary.into();
        let mut error = Self::bad_request(&summary);
        error.diagnostics = Some(vec![WireDiagnostic {
            summary,
            severity: "error",
            range: None,
            path: String::new(),
        }]);
        error
    }

    /// 404 with a message.
    pub fn not_found(message: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// The status of this error.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    diagnostics: Option<&'a [WireDiagnostic]>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_response(
            self.status,
            &ErrorBody {
                code: self.status.as_u16(),
                message: &self.message,
                diagnostics: self.diagnostics.as_deref(),
            },
        );
        if let Some(fault) = self.fault {
            response.extensions_mut().insert(fault);
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let status = match &error {
            ServiceError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ServiceError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ServiceError::NotFound { .. } | ServiceError::Retracted { .. } => StatusCode::NOT_FOUND,
            ServiceError::AlreadyExists { .. }
            | ServiceError::Conflict { .. }
            | ServiceError::DeletionProtected { .. } => StatusCode::CONFLICT,
            ServiceError::Invalid { .. } | ServiceError::Diagnostics { .. } => {
                StatusCode::BAD_REQUEST
            }
            ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match error {
            ServiceError::Diagnostics { diagnostics } => Self {
                status,
                message: "Bad Request".into(),
                diagnostics: Some(diagnostics.iter().map(WireDiagnostic::from).collect()),
                fault: None,
            },
            error if status == StatusCode::INTERNAL_SERVER_ERROR => Self {
                fault: Some(Fault(error.to_string().into())),
                ..Self::new(status, "the server could not complete the request")
            },
            // the status's reason phrase already says "Unauthorized" or
            // "Forbidden": do not repeat it
            ServiceError::Unauthenticated { reason } => {
                tracing::debug!(reason, "request refused");
                Self::new(status, reason)
            }
            ServiceError::Forbidden { reason } => {
                tracing::debug!(reason = %reason, "request refused");
                Self::new(status, reason)
            }
            error => {
                tracing::debug!(error = %error, "request refused");
                Self::new(status, error)
            }
        }
    }
}

/// A diagnostic on the wire (spec/API.md § 2).
#[derive(Debug, Serialize)]
pub struct WireDiagnostic {
    summary: String,
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    range: Option<WireRange>,
    #[serde(skip_serializing_if = "String::is_empty")]
    path: String,
}

/// A range on the wire; `environment` is always present.
#[derive(Debug, Serialize)]
pub struct WireRange {
    environment: String,
    begin: WirePos,
    end: WirePos,
}

/// A position on the wire.
#[derive(Debug, Serialize)]
pub struct WirePos {
    line: u32,
    column: u32,
    byte: u32,
}

impl From<&Diagnostic> for WireDiagnostic {
    fn from(diagnostic: &Diagnostic) -> Self {
        Self {
            summary: diagnostic.summary.clone(),
            severity: match diagnostic.severity {
                Severity::Warning => "warning",
                _ => "error",
            },
            range: diagnostic.range.as_ref().map(|range| WireRange {
                environment: range.filename.to_string(),
                begin: WirePos {
                    line: range.start.line,
                    column: range.start.column,
                    byte: range.start.byte,
                },
                end: WirePos {
                    line: range.end.line,
                    column: range.end.column,
                    byte: range.end.byte,
                },
            }),
            path: diagnostic.path.clone(),
        }
    }
}

//! `/api/user…` (§ 5.1) and the issuer's JWKS and discovery documents.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Authed;
use crate::wire::json_response;

#[derive(Serialize)]
struct WireOrg {
    #[serde(rename = "githubLogin")]
    github_login: String,
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireUser {
    github_login: String,
    name: String,
    email: String,
    avatar_url: String,
    organizations: Vec<WireOrg>,
}

/// 1. `GET /api/user`.
pub(crate) async fn user(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> Result<Response, ApiError> {
    let info = state.service.user_info(&caller).await?;
    Ok(json_response(
        StatusCode::OK,
        &WireUser {
            github_login: info.login,
            name: info.name,
            email: String::new(),
            avatar_url: String::new(),
            organizations: info
                .organizations
                .into_iter()
                .map(|org| WireOrg {
                    github_login: org.clone(),
                    name: org,
                })
                .collect(),
        },
    ))
}

/// 2. `GET /api/user/organizations/default`: the caller's own organization.
pub(crate) async fn default_org(Authed(caller): Authed) -> Response {
    #[derive(Serialize)]
    struct DefaultOrg {
        #[serde(rename = "gitHubLogin")]
        github_login: String,
    }
    json_response(
        StatusCode::OK,
        &DefaultOrg {
            github_login: caller.login,
        },
    )
}

/// `GET /.well-known/jwks` (and aliases).
pub(crate) async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let issuer = state
        .issuer
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this server has no OIDC issuer"))?;
    Ok(json_response(StatusCode::OK, &issuer.jwks()))
}

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn discovery(State(state): State<AppState>) -> Result<Response, ApiError> {
    let issuer = state
        .issuer
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this server has no OIDC issuer"))?;
    Ok(json_response(StatusCode::OK, &issuer.discovery()))
}

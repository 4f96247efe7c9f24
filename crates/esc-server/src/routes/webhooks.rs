//! Webhooks (§ 5.11, #43-49): list, create, get, replace, delete, ping and
//! deliveries. The service checks admin on the environment.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use esc_service::{NewWebhook, WebhookUpdate};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Authed, Params, RawBody, Segments};
use crate::wire::webhooks::{CreateWebhook, UpdateWebhook, WireDelivery, WireWebhook};
use crate::wire::{json_response, no_content};

/// 43. `GET E/hooks` → bare array.
pub(crate) async fn list(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let hooks = state.service.webhooks(&caller, &segments.env()).await?;
    let wire: Vec<WireWebhook> = hooks.iter().map(WireWebhook::from).collect();
    Ok(json_response(StatusCode::OK, &wire))
}

/// 44. `POST E/hooks` → 200 webhook.
pub(crate) async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: CreateWebhook = body.json()?;
    let env = segments.env();
    for (given, path, what) in [
        (&request.organization_name, &env.org, "organizationName"),
        (&request.project_name, &env.project, "projectName"),
        (&request.env_name, &env.name, "envName"),
    ] {
        if !given.is_empty() && given != path {
            return Err(ApiError::bad_request(format!(
                "{what} does not match the environment of the path"
            )));
        }
    }
    let hook = state
        .service
        .create_webhook(
            &caller,
            &env,
            &NewWebhook {
                name: request.name,
                display_name: request.display_name,
                payload_url: request.payload_url,
                format: request.format,
                filters: request.filters.unwrap_or_default(),
                groups: request.groups.unwrap_or_default(),
                active: request.active,
                secret: request.secret.unwrap_or_default(),
            },
        )
        .await?;
    Ok(json_response(StatusCode::OK, &WireWebhook::from(&hook)))
}

/// 45. `GET E/hooks/{name}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let hook = state
        .service
        .webhook(&caller, &segments.env(), segments.get("name"))
        .await?;
    Ok(json_response(StatusCode::OK, &WireWebhook::from(&hook)))
}

/// 46. `PATCH E/hooks/{name}` → 200 webhook.
pub(crate) async fn update(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    body: RawBody,
) -> Result<Response, ApiError> {
    let request: UpdateWebhook = body.json()?;
    let hook = state
        .service
        .update_webhook(
            &caller,
            &segments.env(),
            segments.get("name"),
            &WebhookUpdate {
                active: request.active,
                display_name: request.display_name,
                payload_url: request.payload_url,
                filters: request.filters,
                groups: request.groups,
                format: request.format,
                secret: request.secret,
            },
        )
        .await?;
    Ok(json_response(StatusCode::OK, &WireWebhook::from(&hook)))
}

/// 47. `DELETE E/hooks/{name}` → 204.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    state
        .service
        .delete_webhook(&caller, &segments.env(), segments.get("name"))
        .await?;
    Ok(no_content())
}

/// 48. `POST E/hooks/{name}/ping` → 200 delivery (delivered before answering).
pub(crate) async fn ping(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
) -> Result<Response, ApiError> {
    let delivery = state
        .service
        .ping_webhook(&caller, &segments.env(), segments.get("name"))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &WireDelivery::from(&delivery),
    ))
}

/// 49. `GET E/hooks/{name}/deliveries[?count=]` → bare array, newest first.
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    Authed(caller): Authed,
    segments: Segments,
    params: Params,
) -> Result<Response, ApiError> {
    let count = params.number("count")?.map_or(0, |count| {
        u32::try_from(count.clamp(1, 1000)).unwrap_or(1000)
    });
    let deliveries = state
        .service
        .webhook_deliveries(&caller, &segments.env(), segments.get("name"), count)
        .await?;
    let wire: Vec<WireDelivery> = deliveries.iter().map(WireDelivery::from).collect();
    Ok(json_response(StatusCode::OK, &wire))
}

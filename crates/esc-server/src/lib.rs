//! The ESC-compatible REST API (spec/API.md) over [`esc_service::Service`],
//! plus the issuer's JWKS and OpenID discovery documents.
//!
//! Entry points: [`ApiService`] (the whole API as a tower service, what
//! the server runs; tests drive it over real HTTP), [`router`] (the same as
//! an axum `Router`, to embed) and [`serve`] (open the store, bind,
//! bootstrap an admin token, serve until shutdown) configured by
//! [`ServeConfig`].
//!
//! **Invariants:** one error-to-response map ([`error::ApiError`]); logs
//! carry the method, the route template, status and latency, never bodies,
//! query strings, `Authorization` or decrypted values. At info level a
//! request costs no log work unless it fails (see [`log`]).

mod connections;
mod duration;
pub mod error;
mod extract;
pub mod keystore;
mod log;
mod routes;
mod scheduler;
mod serve;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::routing::{get, post};
use esc_oidc::Issuer;
use esc_service::Service;
use tower_http::timeout::TimeoutLayer;

pub use duration::parse_go_duration;
pub use serve::{ServeConfig, ServeError, StartedServer, serve, start, start_with_store};

use crate::error::ApiError;
use crate::routes::schedules as schedule_routes;
use crate::routes::{anonymous, drafts, environments, identity, open, referrers, tags, webhooks};

/// Limits applied to every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body, in bytes (larger → 413).
    pub body_bytes: usize,
    /// Longest time a request may take (longer → 408).
    pub request_timeout: Duration,
    /// Longest time a connection may take to send a request's head, from
    /// its opening or from the end of its previous response (longer: the
    /// connection is closed).
    pub idle_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_bytes: 2 << 20,
            request_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The domain operations.
    pub service: Service,
    /// The OIDC issuer whose keys are published, if any.
    pub issuer: Option<Arc<Issuer>>,
    /// Request limits.
    pub limits: HttpLimits,
}

/// The whole API as an axum `Router` (to embed it or add layers; the
/// server itself runs [`ApiService`]). A trailing slash is ignored
/// (`…/tags/` routes as `…/tags`): clients written to Pulumi's API may add
/// one.
pub fn router(state: AppState) -> Router {
    Router::new().fallback_service(ApiService::new(state))
}

/// The whole API as a tower service, what the server runs: the routes
/// behind the trailing-slash trim, without the routing layer [`router`]
/// adds around them (one route lookup per request, not two).
#[derive(Clone)]
pub struct ApiService {
    routes: Router,
}

impl ApiService {
    /// The API over `state`.
    pub fn new(state: AppState) -> Self {
        Self {
            routes: routes(state),
        }
    }
}

impl tower::Service<Request> for ApiService {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = <Router as tower::Service<Request>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        tower::Service::<Request>::poll_ready(&mut self.routes, cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        trim_trailing_slash(&mut request);
        self.routes.call(request)
    }
}

/// `/a/b/` → `/a/b` (the query kept); `/` stays.
fn trim_trailing_slash(request: &mut Request) {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = match path.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        };
        let path_and_query = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        let mut parts = request.uri().clone().into_parts();
        if let Ok(path_and_query) = path_and_query.parse() {
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
}

fn routes(state: AppState) -> Router {
    const E: &str = "/api/esc/environments/{org}/{project}/{env}";
    let env_path = |suffix: &str| format!("{E}{suffix}");
    let limits = state.limits;
    let mut router = Router::new()
        .route("/api/user", get(identity::user))
        .route(
            "/api/user/organizations/default",
            get(identity::default_org),
        )
        .route("/api/esc/environments", get(environments::list_all))
        .route(
            "/api/esc/environments/{org}",
            get(environments::list_org).post(environments::create),
        )
        .route(
            "/api/esc/environments/{org}/yaml/check",
            post(environments::check),
        )
        .route(
            "/api/esc/environments/{org}/yaml/open",
            post(anonymous::open),
        )
        .route(
            "/api/esc/environments/{org}/yaml/open/{session}",
            get(anonymous::read),
        )
        .route(
            "/api/esc/environments/{org}/yaml/open//{session}",
            get(anonymous::read),
        )
        .route(
            E,
            get(environments::definition)
                .head(environments::head)
                .patch(environments::update)
                .delete(environments::delete),
        )
        .route(
            &env_path("/versions/{version}"),
            get(environments::definition_at),
        )
        .route(&env_path("/decrypt"), get(environments::decrypt))
        .route(
            &env_path("/versions/{version}/decrypt"),
            get(environments::decrypt_at),
        )
        .route(&env_path("/clone"), post(environments::clone))
        .route(&env_path("/open"), post(open::open))
        .route(&env_path("/versions/{version}/open"), post(open::open_at))
        .route(&env_path("/open/{session}"), get(open::read))
        // the SDKs read single properties at `open//{session}` (two slashes)
        .route(&env_path("/open//{session}"), get(open::read))
        .route(&env_path("/versions"), get(environments::revisions))
        .route(
            &env_path("/versions/{version}/retract"),
            post(environments::retract),
        )
        .route(
            &env_path("/versions/tags"),
            get(tags::list_revision_tags).post(tags::create_revision_tag),
        )
        .route(
            &env_path("/versions/tags/{tag}"),
            get(tags::revision_tag)
                .patch(tags::update_revision_tag)
                .delete(tags::delete_revision_tag),
        )
        .route(
            &env_path("/tags"),
            get(tags::list_environment_tags).post(tags::create_environment_tag),
        )
        .route(
            &env_path("/tags/{name}"),
            get(tags::environment_tag)
                .patch(tags::update_environment_tag)
                .delete(tags::delete_environment_tag),
        )
        .route(&env_path("/rotate"), post(open::rotate))
        .route(
            &env_path("/schedules"),
            get(schedule_routes::list).post(schedule_routes::create),
        )
        .route(
            &env_path("/schedules/{id}"),
            get(schedule_routes::get)
                .patch(schedule_routes::update)
                .delete(schedule_routes::delete),
        )
        .route(
            &env_path("/schedules/{id}/history"),
            get(schedule_routes::history),
        )
        .route(&env_path("/referrers"), get(referrers::list))
        .route(&env_path("/drafts"), post(drafts::create))
        .route(
            &env_path("/drafts/{id}"),
            get(drafts::get).patch(drafts::update),
        )
        .route(&env_path("/drafts/{id}/open"), post(drafts::open))
        .route(&env_path("/open/request"), post(drafts::open_request))
        .route(
            "/api/change-requests/{org}/{id}/submit",
            post(drafts::submit),
        )
        .route(
            &env_path("/settings"),
            get(environments::settings).patch(environments::update_settings),
        )
        .route(
            &env_path("/hooks"),
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            &env_path("/hooks/{name}"),
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route(&env_path("/hooks/{name}/ping"), post(webhooks::ping))
        .route(
            &env_path("/hooks/{name}/deliveries"),
            get(webhooks::deliveries),
        )
        .route(
            "/.well-known/openid-configuration",
            get(identity::discovery),
        );
    for path in esc_oidc::JWKS_PATHS {
        router = router.route(path, get(identity::jwks));
    }
    router
        .fallback(|| async { ApiError::not_found("no such API path") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this path",
            )
        })
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        // the timeout layer answers with an empty body: give it our shape
        .layer(axum::middleware::map_response(timeout_body))
        .layer(log::RequestLogLayer)
        .with_state(state)
}

async fn timeout_body(response: axum::response::Response) -> axum::response::Response {
    if response.status() == StatusCode::REQUEST_TIMEOUT
        && !response
            .headers()
            .contains_key(axum::http::header::CONTENT_TYPE)
    {
        return axum::response::IntoResponse::into_response(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "the request took too long",
        ));
    }
    response
}

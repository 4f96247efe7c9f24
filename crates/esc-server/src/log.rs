//! The request log. Each request runs in a `request` span (method and route
//! template) created at debug level, so a server logging at info pays
//! nothing for it per request; a failed request (5xx) is logged once, at
//! error, with its method, route, status, latency and the fault behind it
//! (which [`crate::error::ApiError`] hands over as a [`Fault`] response
//! extension instead of logging it without that context).
//!
//! **Invariant:** only the route template is logged: no path values (a
//! session id in a path is a bearer credential), query strings, headers or
//! bodies.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use tracing::Instrument;

/// The internal fault behind a 5xx answer, for the request log (never sent
/// to the client: the body says only that the request failed).
#[derive(Clone, Debug)]
pub(crate) struct Fault(pub(crate) Arc<str>);

/// Wraps each route in [`RequestLog`].
#[derive(Clone, Copy)]
pub(crate) struct RequestLogLayer;

impl<S> tower::Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLog { inner }
    }
}

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct RequestLog<S> {
    inner: S,
}

impl<S> tower::Service<Request> for RequestLog<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = request.method().clone();
        let route = request.extensions().get::<MatchedPath>().cloned();
        let span = tracing::debug_span!(
            "request",
            method = %method,
            route = route_name(route.as_ref())
        );
        let answer = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(
            async move {
                let Ok(response) = answer.await;
                let status = response.status();
                let latency_ms = started.elapsed().as_secs_f64() * 1e3;
                if status.is_server_error() {
                    // the one line a fault gets, whatever the log level
                    let fault = response.extensions().get::<Fault>().map(|fault| &*fault.0);
                    tracing::error!(
                        method = %method,
                        route = route_name(route.as_ref()),
                        status = status.as_u16(),
                        latency_ms,
                        error = fault,
                        "request failed"
                    );
                } else {
                    tracing::debug!(status = status.as_u16(), latency_ms, "request finished");
                }
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// The route template a request matched (`<unmatched>` when none did).
fn route_name(route: Option<&MatchedPath>) -> &str {
    route.map_or("<unmatched>", MatchedPath::as_str)
}

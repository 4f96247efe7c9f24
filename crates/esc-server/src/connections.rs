//! The accept loop: one task per connection, each with hyper's header read
//! timeout armed, and a graceful shutdown that lets requests in flight end.
//!
//! `axum::serve` sets no timer, so hyper's header timeout never runs there:
//! a connection that sent nothing, or stayed idle after a response, was
//! held forever, and some 20,000 of them (unauthenticated) used up the
//! process's file descriptors and locked everyone out.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::ApiService;

/// Serves `api` on `listener` until `shutdown` completes, then stops
/// accepting, asks every connection to close after its request in flight
/// and waits for them. `idle_timeout` bounds how long a connection may take
/// to send a request's head, counted from its opening or from the end of
/// its previous response.
pub(crate) async fn serve_connections(
    listener: TcpListener,
    api: ApiService,
    idle_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let (closing, close_rx) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    // out of file descriptors, most likely: wait for some
                    // to be released rather than spin
                    tracing::error!(%error, "accept error");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // answers go out at once (as Go's servers do, OpenBao among them):
        // no Nagle delay when a response leaves in more than one write
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let service = TowerToHyperService::new(
            api.clone()
                .map_request(|request: hyper::Request<Incoming>| request.map(Body::new)),
        );
        let mut close_rx = close_rx.clone();
        tokio::spawn(async move {
            // HTTP/1.1 only, as the API is: hyper_util's auto builder waits
            // for a first byte to pick a protocol, and that wait has no
            // timeout at all
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(idle_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::trace!(%error, "connection ended with an error");
                    }
                    return;
                }
                _ = close_rx.changed() => connection.as_mut().graceful_shutdown(),
            }
            if let Err(error) = connection.await {
                tracing::trace!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    drop(close_rx);
    let _ = closing.send(());
    // every connection task holds a receiver until it ends
    closing.closed().await;
}

/// Errors of one connection that the listener itself survives.
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

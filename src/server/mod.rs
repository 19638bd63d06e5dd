//! The embedded FHIR R4 server: axum routes over the store, at `http://ADDR/fhir`.

mod bundle;
mod capability;
mod handlers;
mod response;
mod transaction;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use response::ApiError;

use crate::store::Store;

/// Default limit on a request body: 16 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub body_limit: usize,
}

pub fn router(state: AppState) -> Router {
    use handlers::*;
    Router::new()
        .route("/fhir", post(bundle_post).get(system_search))
        .route("/fhir/", post(bundle_post))
        .route("/fhir/metadata", get(metadata))
        .route("/fhir/_history", get(history_system))
        .route("/fhir/{rtype}", get(search_get).post(create))
        .route("/fhir/{rtype}/_search", post(search_post))
        .route("/fhir/{rtype}/_history", get(history_type))
        .route("/fhir/{rtype}/{id}", get(read).put(update).delete(delete))
        .route("/fhir/{rtype}/{id}/_history", get(history_instance))
        .route("/fhir/{rtype}/{id}/_history/{vid}", get(vread))
        .route(
            "/fhir/{rtype}/{id}/{operation}",
            get(operation).post(operation_post),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// Serves until `shutdown` completes, then finishes the requests in flight. Every write is
/// committed before its response is sent, so nothing a client was told is stored is lost.
pub async fn serve(
    store: Store,
    listener: TcpListener,
    body_limit: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(AppState {
        store: store.clone(),
        body_limit,
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    // Fold the WAL back into the database so the file is complete on its own.
    let _ = tokio::task::spawn_blocking(move || store.optimize()).await;
    Ok(())
}

/// A server on an ephemeral 127.0.0.1 port, running on the current tokio runtime: for the demo
/// and tests. It stops when the returned handle's sender is dropped or sent to.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}/fhir", self.addr)
    }

    /// Stops accepting, finishes requests in flight and waits (briefly) for the server to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

pub async fn spawn_local(store: Store) -> std::io::Result<Running> {
    spawn_local_with_limit(store, DEFAULT_BODY_LIMIT).await
}

pub async fn spawn_local_with_limit(store: Store, body_limit: usize) -> std::io::Result<Running> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(store, listener, body_limit, async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
    })
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C only, off Unix).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

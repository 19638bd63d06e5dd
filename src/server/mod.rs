//! The embedded FHIR R4 server: axum routes over the store, at `http://ADDR/fhir`.

mod audit_api;
mod bundle;
mod capability;
pub mod gate;
pub mod guard;
mod handlers;
mod interact;
mod response;
pub mod tls;
mod transaction;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use response::ApiError;

use crate::auth::{Auth, Settings};
use crate::store::Store;

/// Default limit on a request body: 16 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Auth,
    pub body_limit: usize,
    pub refusals: std::sync::Arc<guard::RefusalLog>,
}

/// How a server is run: body limit and sign-in settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub body_limit: usize,
    pub auth: Settings,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            body_limit: DEFAULT_BODY_LIMIT,
            auth: Settings::default(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    use handlers::*;
    let auth = Router::new()
        .route("/auth/login", post(guard::login))
        .route("/auth/logout", post(guard::logout))
        .route("/auth/session", get(guard::whoami))
        .route("/auth/break-glass", post(guard::break_glass))
        .route("/auth/users", get(guard::list_users).post(guard::add_user))
        .route("/auth/users/{username}/{change}", post(guard::change_user));
    let fhir = Router::new()
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
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::require_session,
        ));
    fhir.merge(auth)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// Serves until `shutdown` completes, then finishes the requests in flight. Every write is
/// committed before its response is sent, so nothing a client was told is stored is lost.
pub async fn serve<L>(
    store: Store,
    listener: L,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
    guard::ClientAddr:
        for<'a> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    let mut auth = Auth::new(store.clone());
    auth.settings = config.auth;
    let app = router(AppState {
        store: store.clone(),
        auth,
        body_limit: config.body_limit,
        refusals: Default::default(),
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<guard::ClientAddr>(),
    )
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
    spawn_local_with(store, ServerConfig::default()).await
}

pub async fn spawn_local_with_limit(store: Store, body_limit: usize) -> std::io::Result<Running> {
    let config = ServerConfig {
        body_limit,
        ..ServerConfig::default()
    };
    spawn_local_with(store, config).await
}

pub async fn spawn_local_with(store: Store, config: ServerConfig) -> std::io::Result<Running> {
    spawn_at(store, SocketAddr::from(([127, 0, 0, 1], 0)), config).await
}

/// Serves on `addr` (a server restarted on the port it had before, in tests).
pub async fn spawn_at(
    store: Store,
    addr: SocketAddr,
    config: ServerConfig,
) -> std::io::Result<Running> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(store, listener, config, async move {
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

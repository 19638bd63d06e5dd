//! The embedded FHIR R4 server: axum routes over the store, at `http://ADDR/fhir`.

pub mod access;
pub mod audit;
mod audit_api;
pub mod auth;
pub mod backups;
mod beds;
mod bundle;
mod capability;
pub mod correction;
pub mod cors;
mod ctx;
pub mod dedupe;
pub mod export;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod handlers;
pub mod hl7;
pub mod import;
pub mod inbox;
mod interact;
pub mod listen;
pub mod mrn;
mod origin;
mod response;
pub mod seed;
pub mod store;
pub mod support;
pub mod tls;
mod transaction;
pub mod work;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub use response::ApiError;

use crate::server::auth::{Auth, Settings};
use crate::server::store::Store;

/// Default limit on a request body: 16 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Limit on a body sent to `/auth/*` (credentials, a reason, a new user): 64 KiB.
pub const AUTH_BODY_LIMIT: usize = 64 * 1024;

pub use listen::Timeouts;
pub use work::{WRITE_TURNS, WorkLimits};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Auth,
    pub body_limit: usize,
    pub timeouts: Timeouts,
    pub refusals: std::sync::Arc<access::RefusalLog>,
    /// The slowest recent requests (for support's server status).
    pub slow: std::sync::Arc<support::status::SlowLog>,
    pub origin: std::sync::Arc<origin::Origin>,
    /// Admission to the database (workers, queue, wait).
    pub work: std::sync::Arc<work::Work>,
    /// Bulk Data export jobs and their files.
    pub exports: std::sync::Arc<export::Exports>,
    /// Whether any web origin may call the API (CORS), for the CapabilityStatement.
    pub cors: bool,
    /// The site's identity provider, whose JWT access tokens are accepted beside bedside's own.
    pub oidc: Option<std::sync::Arc<auth::oidc::Provider>>,
    /// The site's MRN system.
    pub mrn: mrn::MrnPolicy,
    /// The HL7 v2 interface's setup, when it runs (for reprocessing a logged message).
    pub hl7: Option<std::sync::Arc<hl7::handle::Options>>,
}

/// How a server is run: body limit, time limits, sign-in settings and how it is reached.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub body_limit: usize,
    pub auth: Settings,
    pub timeouts: Timeouts,
    /// Served over TLS: links say https.
    pub tls: bool,
    /// The base URL clients use (behind a proxy or a DNS name): links use it, whatever the
    /// request's Host header says.
    pub public_url: Option<String>,
    /// Proxies whose `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-For` are
    /// believed; from any other address they are ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How many requests work on the database at once, and how many may wait.
    pub work: WorkLimits,
    /// Backups made while serving (`[backup]` in the site's config.toml).
    pub backups: Option<backups::Schedule>,
    /// Open connections at most; more clients wait to be accepted.
    pub max_connections: usize,
    /// Web origins (`https://app.example.org`) whose browser apps may call the FHIR API
    /// (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// The site's identity provider (`--oidc-issuer`, `--oidc-audience`).
    pub oidc: Option<auth::oidc::OidcSettings>,
    /// The MRN system the server assigns numbers in (`--mrn-system`).
    pub mrn: mrn::MrnPolicy,
    /// The HL7 v2 interface's setup, when it runs (for reprocessing a logged message).
    pub hl7: Option<std::sync::Arc<hl7::handle::Options>>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            body_limit: DEFAULT_BODY_LIMIT,
            auth: Settings::default(),
            timeouts: Timeouts::default(),
            tls: false,
            public_url: None,
            trusted_proxies: Vec::new(),
            work: WorkLimits::default(),
            backups: None,
            max_connections: listen::MAX_CONNECTIONS,
            cors_origins: Vec::new(),
            oidc: None,
            mrn: mrn::MrnPolicy::default(),
            hl7: None,
        }
    }
}

pub fn router(state: AppState) -> Router {
    use handlers::*;
    let auth = Router::new()
        .route("/auth/login", post(access::routes::login))
        .route("/auth/logout", post(access::routes::logout))
        .route("/auth/password", post(access::routes::change_password))
        .route("/auth/signature", post(access::routes::check_signature))
        .route(
            "/auth/signature-pin",
            post(access::routes::set_signature_pin),
        )
        .route("/auth/session", get(access::routes::whoami))
        .route(
            "/fhir/.well-known/smart-configuration",
            get(access::routes::smart_configuration),
        )
        .route("/auth/break-glass", post(access::routes::break_glass))
        .route(
            "/auth/users",
            get(access::routes::list_users).post(access::routes::add_user),
        )
        .route(
            "/auth/users/{username}/{change}",
            post(access::routes::change_user),
        );
    let fhir = Router::new()
        .route("/fhir", post(bundle_post).get(system_search))
        .route("/fhir/", post(bundle_post))
        .route("/fhir/metadata", get(metadata))
        .route("/fhir/_history", get(history_system))
        .route("/fhir/$export", get(export_system))
        .route("/fhir/$data-quality", get(support::quality_get))
        .route("/fhir/$server-status", get(support::status_get))
        .route("/fhir/$hl7-messages", get(support::hl7_messages_get))
        .route("/fhir/$hl7-reprocess", post(support::hl7_reprocess_post))
        .route(
            "/fhir/$export-status/{job}",
            get(export::status).delete(export::delete),
        )
        .route("/fhir/$export-file/{job}/{file}", get(export::file))
        .route(
            "/fhir/{rtype}",
            get(search_get)
                .post(create)
                .put(conditional_update)
                .delete(conditional_delete),
        )
        .route("/fhir/{rtype}/_search", post(search_post))
        .route("/fhir/{rtype}/_history", get(history_type))
        .route(
            "/fhir/{rtype}/{id}",
            get(read)
                .post(type_operation_post)
                .put(update)
                .patch(patch)
                .delete(delete),
        )
        .route("/fhir/{rtype}/{id}/_history", get(history_instance))
        .route("/fhir/{rtype}/{id}/_history/{vid}", get(vread))
        .route(
            "/fhir/{rtype}/{id}/{operation}",
            get(operation).post(operation_post),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::require_session,
        ));
    let fhir = fhir.layer(DefaultBodyLimit::disable());
    let auth = auth.layer(DefaultBodyLimit::max(AUTH_BODY_LIMIT));
    fhir.merge(auth)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin::stamp,
        ))
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
    L::Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut auth = Auth::new(store.clone());
    auth.settings = config.auth.clone();
    // Secrets stored in plain text by an older version are sealed before serving.
    {
        let auth = auth.clone();
        match tokio::task::spawn_blocking(move || auth.seal_plain_secrets()).await {
            Ok(Ok(n)) if n > 0 => tracing::warn!("sealed {n} TOTP secrets stored in plain text"),
            Ok(Err(e)) => tracing::error!(error = %e, "cannot seal the stored TOTP secrets"),
            _ => {}
        }
    }
    let local = listener.local_addr()?;
    let cors = cors::layer(&config.cors_origins);
    let exports = std::sync::Arc::new(export::Exports::new(store.path()));
    let sweeper = export::sweep_every_minute(exports.clone());
    let oidc = match config.oidc.clone().map(auth::oidc::Provider::new) {
        Some(Ok(provider)) => Some(std::sync::Arc::new(provider)),
        Some(Err(e)) => return Err(std::io::Error::other(e)),
        None => None,
    };
    let app = router(AppState {
        oidc,
        mrn: config.mrn.clone(),
        hl7: config.hl7.clone(),
        exports,
        cors: !config.cors_origins.is_empty(),
        store: store.clone(),
        auth,
        body_limit: config.body_limit,
        timeouts: config.timeouts,
        refusals: Default::default(),
        slow: Default::default(),
        origin: std::sync::Arc::new(origin::Origin::new(&config, local)),
        work: std::sync::Arc::new(work::Work::new(WorkLimits {
            // Each worker may hold two readers; never more workers than the pool can serve.
            workers: config
                .work
                .workers
                .min(store.max_readers() as usize / 2)
                .max(1),
            ..config.work
        })),
    });
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    let scheduled = config.backups.clone().map(|schedule| {
        tokio::spawn(backups::run_schedule(
            store.path().to_path_buf(),
            store.key().cloned(),
            schedule,
        ))
    });
    listen::run(
        listener,
        app,
        config.max_connections,
        config.timeouts,
        shutdown,
        Duration::from_secs(30),
    )
    .await;
    sweeper.abort();
    if let Some(task) = scheduled {
        task.abort();
    }
    let (batches, records) = store.trail_commits();
    tracing::info!("audit trail: {records} records in {batches} group commits");
    let (groups, writes) = store.write_commits();
    tracing::info!("resource writes: {writes} in {groups} group commits");
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
    let listener = no_delay(listener);
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

/// `listener` with Nagle's algorithm off on every connection: a response is sent as it is
/// written, not held back waiting for the client's acknowledgement of the part before.
pub fn no_delay(
    listener: TcpListener,
) -> impl axum::serve::Listener<Addr = SocketAddr, Io = tokio::net::TcpStream> {
    use axum::serve::ListenerExt;
    listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
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

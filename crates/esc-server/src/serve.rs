//! Running the server: open the store, bootstrap the admin, bind, serve
//! until the shutdown future completes, then drain in-flight requests.
//! While it serves, a task applies the issuer's key rotation rules every
//! [`ServeConfig::key_maintenance_interval`] (keys live in the database, see
//! [`crate::keystore`], so servers sharing it converge on one key set), and
//! a task runs the due rotation schedules every
//! [`ServeConfig::schedule_interval`] (see [`crate::scheduler`]). On
//! shutdown, webhook deliveries waiting for a retry give up and those in
//! flight get at most 5 s.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use esc_oidc::{FileKeyStore, Issuer, IssuerConfig};
use esc_providers::ProvidersConfig;
use esc_service::{AccessPolicy, Service, ServiceConfig, WebhookConfig};
use esc_store::{Location, Plaintext, SqlStore, Store};
use tokio::net::TcpListener;

use crate::keystore::{StoreKeyStore, import_keys};
use crate::scheduler::repeat;
use crate::{ApiService, AppState, HttpLimits};

/// How to run the server. Plain data; [`ServeConfig::default`] is a local
/// single-user server on 127.0.0.1:8080 with its data in `./esc-data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite database and its master key
    /// (`master.key`, unless `ESC_MASTER_KEY` is set). OIDC signing keys live
    /// in the database; keys an older version kept in `oidc-keys/` here are
    /// imported on first start.
    pub data_dir: PathBuf,
    /// A `postgres://` URL: use PostgreSQL instead of SQLite (the master
    /// key then must come from `ESC_MASTER_KEY`).
    pub database_url: Option<String>,
    /// The public base URL (the OIDC issuer); default `http://<listen>`.
    pub public_url: Option<String>,
    /// The login of the administrator, admin of every organization; an
    /// access token is created for it on first start.
    pub admin_login: String,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// Longest time one request may take.
    pub request_timeout: Duration,
    /// Longest time a connection may stay without sending a request's head
    /// (from its opening or its previous response) before it is closed.
    pub idle_timeout: Duration,
    /// Let `fn::open::external` / `fn::rotate::external` call plain
    /// `http://` adapters, and webhooks deliver to plain `http://` URLs, on
    /// loopback addresses (local development only; HTTPS is required
    /// otherwise).
    pub allow_insecure_loopback_http: bool,
    /// How often the issuer's key rotation rules run (and the key set is
    /// reloaded from the database, picking up other servers' rotations).
    /// Must be well below a day (the rules' publish lead) and non-zero.
    pub key_maintenance_interval: Duration,
    /// How often the scheduler looks for due rotation schedules (non-zero).
    pub schedule_interval: Duration,
    /// The most schedules one scheduler tick runs (non-zero); the rest wait
    /// for the next ticks.
    pub schedules_per_tick: u32,
    /// How often expired open sessions (and their encrypted results) are
    /// deleted from the store (non-zero). An expired session is refused
    /// whether or not it was deleted yet; deleting keeps the store from
    /// growing with every open and drops the sealed secrets it kept.
    pub session_purge_interval: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("esc-data"),
            database_url: None,
            public_url: None,
            admin_login: "admin".to_owned(),
            max_body_bytes: HttpLimits::default().body_bytes,
            request_timeout: HttpLimits::default().request_timeout,
            idle_timeout: HttpLimits::default().idle_timeout,
            allow_insecure_loopback_http: false,
            key_maintenance_interval: Duration::from_secs(300),
            schedule_interval: Duration::from_secs(30),
            schedules_per_tick: 16,
            session_purge_interval: Duration::from_secs(60),
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The store could not be opened.
    #[error("opening the store: {0}")]
    Store(#[from] esc_store::StoreError),
    /// The OIDC issuer could not load or create its keys.
    #[error("starting the OIDC issuer: {0}")]
    Issuer(#[from] esc_oidc::Error),
    /// The admin could not be bootstrapped.
    #[error("creating the admin user: {0}")]
    Bootstrap(#[from] esc_service::ServiceError),
    /// A configuration value is not acceptable.
    #[error("invalid server configuration: {0}")]
    Config(&'static str),
    /// Binding or serving failed.
    #[error("{address}: {source}")]
    Io {
        /// The address.
        address: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// How long shutdown waits for webhook deliveries in flight.
const WEBHOOK_DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// A server that is bound and ready: [`StartedServer::run`] serves it.
pub struct StartedServer {
    /// The address it listens on (useful with port 0).
    pub address: SocketAddr,
    /// The admin token created on this start (first start only). Shown once.
    pub bootstrap_token: Option<Plaintext>,
    /// The shared state (service, issuer, limits).
    pub state: AppState,
    listener: TcpListener,
    key_maintenance_interval: Duration,
    schedule_interval: Duration,
    schedules_per_tick: u32,
    session_purge_interval: Duration,
}

/// Opens the store, bootstraps the admin and binds; does not serve yet.
pub async fn start(config: ServeConfig) -> Result<StartedServer, ServeError> {
    check(&config)?;
    let (store, _) = match &config.database_url {
        Some(url) => SqlStore::open(Location::Postgres(url)).await?,
        None => SqlStore::open(Location::Embedded(&config.data_dir)).await?,
    };
    start_with_store(config, store).await
}

/// As [`start`], over a store the caller opened (`config.database_url` is
/// not used).
pub async fn start_with_store(
    config: ServeConfig,
    store: Arc<dyn Store>,
) -> Result<StartedServer, ServeError> {
    check(&config)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Io {
            address: config.listen,
            source,
        })?;
    let address = listener.local_addr().map_err(|source| ServeError::Io {
        address: config.listen,
        source,
    })?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let key_store = Arc::new(StoreKeyStore::new(store.clone()));
    let legacy_keys = FileKeyStore::new(config.data_dir.join("oidc-keys"));
    if legacy_keys.dir().exists() && import_keys(&legacy_keys, &*key_store).await? {
        tracing::info!(dir = %legacy_keys.dir().display(), "imported the issuer keys into the database");
    }
    let issuer = Issuer::open(IssuerConfig::new(public_url), key_store).await?;
    // The built-in providers sign their adapter calls with the issuer whose
    // keys this server publishes at /.well-known/jwks.
    let issuer = Arc::new(issuer);
    let providers = esc_providers::registry(
        ProvidersConfig {
            allow_insecure_loopback_http: config.allow_insecure_loopback_http,
            ..ProvidersConfig::default()
        },
        issuer.clone(),
    );
    let service = Service::new(
        store,
        providers,
        ServiceConfig {
            access: AccessPolicy {
                admins: vec![config.admin_login.clone()],
                memberships: Vec::new(),
            },
            // webhooks follow the providers' rule for plain http://
            webhooks: WebhookConfig {
                allow_insecure_loopback_http: config.allow_insecure_loopback_http,
                ..WebhookConfig::default()
            },
            ..ServiceConfig::default()
        },
    );
    let bootstrap_token = service
        .bootstrap_user(&config.admin_login, "created on first start")
        .await?
        .map(|token| token.secret);
    Ok(StartedServer {
        address,
        bootstrap_token,
        state: AppState {
            service,
            issuer: Some(issuer),
            limits: HttpLimits {
                body_bytes: config.max_body_bytes,
                request_timeout: config.request_timeout,
                idle_timeout: config.idle_timeout,
            },
        },
        listener,
        key_maintenance_interval: config.key_maintenance_interval,
        schedule_interval: config.schedule_interval,
        schedules_per_tick: config.schedules_per_tick,
        session_purge_interval: config.session_purge_interval,
    })
}

/// Refuses settings no server can run with (before anything is opened).
fn check(config: &ServeConfig) -> Result<(), ServeError> {
    if config.key_maintenance_interval.is_zero() {
        return Err(ServeError::Config(
            "key_maintenance_interval must be non-zero",
        ));
    }
    if config.session_purge_interval.is_zero() {
        return Err(ServeError::Config(
            "session_purge_interval must be non-zero",
        ));
    }
    if config.schedule_interval.is_zero() || config.schedules_per_tick == 0 {
        return Err(ServeError::Config(
            "schedule_interval and schedules_per_tick must be non-zero",
        ));
    }
    Ok(())
}

impl StartedServer {
    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let (stop_maintenance, stopped) = tokio::sync::oneshot::channel();
        let maintenance = self.state.issuer.clone().map(|issuer| {
            tokio::spawn(maintain_keys(
                issuer,
                self.key_maintenance_interval,
                stopped,
            ))
        });
        let service = self.state.service.clone();
        let (stop_scheduler, scheduler_stopped) = tokio::sync::oneshot::channel();
        let scheduler = tokio::spawn(crate::scheduler::run_schedules(
            self.state.service.clone(),
            self.schedule_interval,
            self.schedules_per_tick,
            scheduler_stopped,
        ));
        let (stop_purging, purging_stopped) = tokio::sync::oneshot::channel();
        let purging = tokio::spawn(purge_sessions(
            self.state.service.store().clone(),
            self.session_purge_interval,
            purging_stopped,
        ));
        let idle_timeout = self.state.limits.idle_timeout;
        crate::connections::serve_connections(
            self.listener,
            ApiService::new(self.state),
            idle_timeout,
            shutdown,
        )
        .await;
        let _ = stop_maintenance.send(());
        let _ = stop_scheduler.send(());
        let _ = stop_purging.send(());
        if let Err(error) = purging.await {
            tracing::error!(%error, "the session purge task failed");
        }
        if let Err(error) = scheduler.await {
            tracing::error!(%error, "the scheduler task failed");
        }
        if let Some(maintenance) = maintenance
            && let Err(error) = maintenance.await
        {
            tracing::error!(%error, "the issuer key maintenance task failed");
        }
        // deliveries waiting for a retry give up; those in flight get a
        // moment to finish and be recorded
        service.close_webhooks(WEBHOOK_DRAIN_LIMIT).await;
        Ok(())
    }
}

/// Deletes expired sessions every `every` until `stop` (in bounded
/// transactions: see `Store::purge_expired_sessions`). Every server on a
/// shared PostgreSQL does it: a delete of rows already gone is a no-op.
async fn purge_sessions(
    store: Arc<dyn Store>,
    every: Duration,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    repeat(every, false, stop, || async {
        match store
            .purge_expired_sessions(esc_store::Timestamp::now())
            .await
        {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "deleted expired open sessions"),
            Err(error) => tracing::error!(%error, "deleting expired open sessions failed"),
        }
    })
    .await;
}

/// Runs the issuer's key rotation rules every `every` until `stop` (not at
/// once: `start` has just run them); a round in progress finishes first.
/// Failures are logged and retried on the next tick (the keys in use stay
/// valid meanwhile).
async fn maintain_keys(
    issuer: Arc<Issuer>,
    every: Duration,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    repeat(every, true, stop, || async {
        if let Err(error) = issuer.maintain().await {
            tracing::error!(%error, "issuer key maintenance failed");
        }
    })
    .await;
}

/// Runs the server: [`start`], print how to log in (first start only), and
/// serve until `shutdown` completes.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let started = start(config).await?;
    tracing::info!(
        address = %started.address,
        schedule_interval = ?started.schedule_interval,
        schedules_per_tick = started.schedules_per_tick,
        key_maintenance_interval = ?started.key_maintenance_interval,
        // the runtime's threads (esc serve: one per core it may use)
        workers = tokio::runtime::Handle::current().metrics().num_workers(),
        "esc server listening"
    );
    if let Some(token) = &started.bootstrap_token {
        // The one time this credential exists in clear: the operator needs it.
        println!(
            "esc login http://{} --token {}",
            started.address,
            String::from_utf8_lossy(token.expose())
        );
    }
    started.run(shutdown).await
}

//! Built-in providers and rotators of the product, found by name through
//! [`registry`]: today `external` (ESC Connect, CONNECT.md sections 1, 2 and
//! 4) as both `fn::open::external` and `fn::rotate::external`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use esc_eval::{CallError, Provider, ProviderLoader, Rotator};

pub mod external;
pub mod guard;
mod http;

/// Operator settings of the built-in providers.
#[derive(Clone, Debug)]
pub struct ProvidersConfig {
    /// Allow plain `http://` adapter URLs whose host is a loopback address
    /// (`127.0.0.0/8`, `::1`, `localhost`); off by default (development and
    /// tests only).
    pub allow_insecure_loopback_http: bool,
    /// Allow adapter hosts that resolve to link-local or cloud metadata
    /// addresses (`169.254.0.0/16`, `fe80::/10`, `fd00:ec2::254`); off by
    /// default (SSRF guard).
    pub allow_link_local: bool,
    /// Time allowed to establish a connection (default 5 s).
    pub connect_timeout: Duration,
    /// Time allowed for one whole attempt, response body included
    /// (default 30 s). A timed-out attempt is not retried.
    pub total_timeout: Duration,
    /// Largest adapter response read, in bytes (default 1 MiB); a larger
    /// response is refused.
    pub max_response_bytes: usize,
    /// Attempts of one open, retries included (default 3; at least 1).
    /// Rotations are always made once.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one
    /// (default 200 ms).
    pub retry_backoff: Duration,
    /// Extra trusted root certificates (PEM, each entry one or more
    /// certificates), added to the built-in roots.
    pub extra_root_certificates_pem: Vec<Vec<u8>>,
    /// Organization named in tokens when the execution context has no
    /// `pulumi.organization.login` (default empty: such calls fail).
    pub default_org: String,
    /// `trigger_user` when the execution context has no
    /// `pulumi.user.login` (default empty: such calls fail).
    pub default_trigger_user: String,
}

impl Default for ProvidersConfig {
    fn default() -> Self {
        ProvidersConfig {
            allow_insecure_loopback_http: false,
            allow_link_local: false,
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30),
            max_response_bytes: 1024 * 1024,
            max_attempts: 3,
            retry_backoff: Duration::from_millis(200),
            extra_root_certificates_pem: Vec::new(),
            default_org: String::new(),
            default_trigger_user: String::new(),
        }
    }
}

/// A configuration the providers cannot run with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An extra root certificate is not a valid PEM certificate.
    #[error("invalid extra root certificate #{index}")]
    RootCertificate {
        /// Position in `extra_root_certificates_pem`.
        index: usize,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// The built-in providers and rotators by name.
pub struct Registry {
    external: Result<Arc<http::Connector>, String>,
}

impl Registry {
    /// The registry for `config`, minting adapter tokens with `issuer`.
    pub fn new(
        config: ProvidersConfig,
        issuer: Arc<esc_oidc::Issuer>,
    ) -> Result<Registry, ConfigError> {
        Ok(Registry {
            external: Ok(Arc::new(http::Connector::new(config, issuer)?)),
        })
    }
}

/// The built-in providers and rotators as a loader for
/// [`esc_eval::Session::providers`]. A configuration error (a bad extra
/// root certificate) is reported at every `external` call rather than
/// here, so one bad setting does not stop a server; use [`Registry::new`]
/// to fail early instead.
pub fn registry(config: ProvidersConfig, issuer: Arc<esc_oidc::Issuer>) -> Arc<dyn ProviderLoader> {
    match http::Connector::new(config, issuer) {
        Ok(connector) => Arc::new(Registry {
            external: Ok(Arc::new(connector)),
        }),
        Err(e) => Arc::new(Registry {
            external: Err(format!(
                "the external provider is not configured correctly: {e}"
            )),
        }),
    }
}

impl Registry {
    fn connector(&self) -> Result<Arc<http::Connector>, CallError> {
        self.external.clone().map_err(CallError::new)
    }
}

#[async_trait]
impl ProviderLoader for Registry {
    async fn load_provider(&self, name: &str) -> Result<Arc<dyn Provider>, CallError> {
        // One line per built-in provider.
        match name {
            "external" => Ok(Arc::new(external::OpenExternal::new(self.connector()?))),
            _ => Err(CallError::new(format!(
                "unknown provider {}",
                esc_eval::go_quote(name)
            ))),
        }
    }

    async fn load_rotator(&self, name: &str) -> Result<Arc<dyn Rotator>, CallError> {
        // One line per built-in rotator.
        match name {
            "external" => Ok(Arc::new(external::RotateExternal::new(self.connector()?))),
            _ => Err(CallError::new(format!(
                "unknown rotator {}",
                esc_eval::go_quote(name)
            ))),
        }
    }
}

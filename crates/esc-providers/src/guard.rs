//! The SSRF address guard of every outbound call the product makes: ESC
//! Connect's adapter calls (`http.rs`) and esc-service's webhook
//! deliveries. Link-local and cloud metadata addresses are refused, both
//! as URL literals ([`is_blocked`]) and as what a name resolves to
//! ([`GuardedResolver`], installed with `reqwest::ClientBuilder::dns_resolver`).

use std::error::Error as _;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Whether `ip` is a link-local (`169.254.0.0/16`, `fe80::/10`, also
/// IPv4-mapped) or cloud metadata (`fd00:ec2::254`) address.
pub fn is_blocked(ip: IpAddr) -> bool {
    const EC2_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4.is_link_local();
            }
            v6 == EC2_METADATA_V6 || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Refusal of the resolver; found again in the error chain by
/// [`is_refused_address`].
#[derive(Debug, thiserror::Error)]
#[error("refused address")]
struct BlockedAddress;

/// The system resolver, refusing a name any of whose addresses
/// [`is_blocked`] (unless `allow_link_local`).
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver {
    allow_link_local: bool,
}

impl GuardedResolver {
    /// A resolver refusing blocked addresses unless `allow_link_local`.
    pub fn new(allow_link_local: bool) -> Self {
        Self { allow_link_local }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let allow = self.allow_link_local;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow && addrs.iter().any(|a| is_blocked(a.ip())) {
                return Err(Box::new(BlockedAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether `error` failed because [`GuardedResolver`] refused the host.
pub fn is_refused_address(error: &reqwest::Error) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.downcast_ref::<BlockedAddress>().is_some() {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::str::FromStr as _;

    use reqwest::dns::{Name, Resolve as _};

    use super::*;

    #[test]
    fn blocked_addresses() {
        for ip in [
            "169.254.169.254",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:169.254.1.1",
        ] {
            assert!(is_blocked(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["127.0.0.1", "10.0.0.1", "::1", "fd00:ec2::253", "8.8.8.8"] {
            assert!(!is_blocked(ip.parse().unwrap()), "{ip}");
        }
    }

    async fn resolve(allow_link_local: bool, host: &str) -> Result<Vec<IpAddr>, String> {
        let resolver = GuardedResolver::new(allow_link_local);
        match resolver.resolve(Name::from_str(host).unwrap()).await {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(error) => Err(error.to_string()),
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_blocked_addresses_unless_allowed() {
        // the system resolver returns an address literal as it is, so no DNS is needed
        assert_eq!(
            resolve(false, "169.254.169.254").await,
            Err("refused address".to_owned())
        );
        assert_eq!(
            resolve(false, "fe80::1").await,
            Err("refused address".to_owned())
        );
        assert_eq!(
            resolve(true, "169.254.169.254").await,
            Ok(vec!["169.254.169.254".parse().unwrap()])
        );
        assert_eq!(
            resolve(false, "127.0.0.1").await,
            Ok(vec!["127.0.0.1".parse().unwrap()])
        );
    }
}

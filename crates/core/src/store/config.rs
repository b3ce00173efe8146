//! Where the store is and how to log in: `--store URL` plus the `--etcd-*` options.

use std::path::PathBuf;
use std::time::Duration;

use super::StoreError;

pub const DEFAULT_PREFIX: &str = "/flightdeck/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `etcd://h1:2379,h2:2379`; each endpoint as `host:port` (2379 when left out).
    Etcd { endpoints: Vec<String> },
    /// `mem://`: the in-memory store of the demo and the unit tests.
    Memory,
}

/// How to reach an etcd cluster and log in; ignored by `mem://`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    pub user: Option<String>,
    pub password: Option<String>,
    /// CA bundle that signed etcd's server certificate; switches the connection to TLS.
    pub ca: Option<PathBuf>,
    /// Client certificate and key for etcd's `--client-cert-auth`.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Time allowed to open a connection to an endpoint.
    pub dial_timeout: Duration,
    /// Time allowed for one request, so a dead store is an error and not a hang.
    pub request_timeout: Duration,
    /// Every key lives under this prefix; it always ends with `/`.
    pub prefix: String,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            user: None,
            password: None,
            ca: None,
            cert: None,
            key: None,
            dial_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(5),
            prefix: DEFAULT_PREFIX.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub backend: Backend,
    pub options: StoreOptions,
}

impl StoreConfig {
    pub fn parse(url: &str, options: StoreOptions) -> Result<StoreConfig, StoreError> {
        let bad = |why: &str| {
            StoreError::Invalid(format!(
                "invalid store URL '{url}': {why}; use etcd://host:2379[,host2:2379] or mem://"
            ))
        };
        let backend = if let Some(rest) = url.strip_prefix("etcd://") {
            let rest = rest.trim_end_matches('/');
            if rest.is_empty() {
                return Err(bad("no endpoints"));
            }
            let mut endpoints = Vec::new();
            for ep in rest.split(',') {
                let ep = ep.trim();
                if ep.is_empty() || ep.contains('/') || ep.contains('@') {
                    return Err(bad(&format!("'{ep}' is not host:port")));
                }
                match ep.rsplit_once(':') {
                    Some((host, port)) if !host.is_empty() && !host.ends_with(':') => {
                        port.parse::<u16>()
                            .map_err(|_| bad(&format!("port '{port}' is not a number")))?;
                        endpoints.push(ep.to_string());
                    }
                    Some(_) => return Err(bad(&format!("'{ep}' is not host:port"))),
                    None => endpoints.push(format!("{ep}:2379")),
                }
            }
            Backend::Etcd { endpoints }
        } else if url == "mem://" || url == "mem:" {
            Backend::Memory
        } else {
            return Err(bad("unknown scheme"));
        };
        let mut options = options;
        if !options.prefix.starts_with('/') {
            options.prefix.insert(0, '/');
        }
        if !options.prefix.ends_with('/') {
            options.prefix.push('/');
        }
        if options.cert.is_some() != options.key.is_some() {
            return Err(StoreError::Invalid(
                "--etcd-cert and --etcd-key go together: give both or neither".to_string(),
            ));
        }
        if options.password.is_some() && options.user.is_none() {
            return Err(StoreError::Invalid(
                "an etcd password was given without --etcd-user".to_string(),
            ));
        }
        Ok(StoreConfig { backend, options })
    }

    /// Whether the connection uses TLS (a CA or a client certificate was given).
    pub fn tls(&self) -> bool {
        self.options.ca.is_some() || self.options.cert.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<StoreConfig, StoreError> {
        StoreConfig::parse(url, StoreOptions::default())
    }

    #[test]
    fn etcd_urls_list_endpoints_with_the_default_port() {
        let c = parse("etcd://h1:2379,h2").unwrap();
        assert_eq!(
            c.backend,
            Backend::Etcd {
                endpoints: vec!["h1:2379".into(), "h2:2379".into()]
            }
        );
        assert_eq!(c.options.prefix, "/flightdeck/");
        assert_eq!(parse("mem://").unwrap().backend, Backend::Memory);
    }

    #[test]
    fn bad_urls_say_what_is_expected() {
        for url in [
            "etcd://",
            "http://h:1",
            "etcd://h:port",
            "etcd://h1:1,,h2:2",
        ] {
            let msg = parse(url).unwrap_err().to_string();
            assert!(msg.contains("etcd://host:2379"), "{url}: {msg}");
        }
    }

    #[test]
    fn prefix_is_normalised_and_cert_needs_key() {
        let opts = StoreOptions {
            prefix: "team-a".into(),
            ..StoreOptions::default()
        };
        assert_eq!(
            StoreConfig::parse("mem://", opts).unwrap().options.prefix,
            "/team-a/"
        );
        let opts = StoreOptions {
            cert: Some("c.pem".into()),
            ..StoreOptions::default()
        };
        assert!(StoreConfig::parse("mem://", opts).is_err());
    }
}

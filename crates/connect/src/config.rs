//! The server's configuration: one typed tree, loaded once from defaults, an
//! optional TOML file and `CONNECT_*` environment variables (in that order of
//! precedence, lowest first), validated before the server binds.
//!
//! `connect.example.toml` at the repository root documents every field.

use std::net::SocketAddr;

use anyhow::{bail, Context as _};
use chrono::Duration;
use figment::providers::{Env, Format as _, Serialized, Toml};
use figment::Figment;
use oauth_core::scope::validate_registration_scopes;
use oauth_core::{Audience, Registration, ScopeSet};
use oauth_http::{
    ClientMetadataFetch, DynamicRegistration, ForwardedHeaders, HttpConfig, TrustedProxies,
};
use serde::{Deserialize, Serialize};

/// Every setting, with its default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. `CONNECT_LISTEN`; default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Database: `sqlite://PATH` (embedded, one process) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB` (any number of processes).
    /// `CONNECT_DATABASE_URL` or `DATABASE_URL`; default
    /// `sqlite://loopwise-connect.db`.
    pub database_url: String,
    /// Connections in the pool at most. `CONNECT_DATABASE_MAX_CONNECTIONS`;
    /// default 8.
    pub database_max_connections: u32,
    /// Connections the pool keeps open while idle, at most
    /// `database_max_connections`. `CONNECT_DATABASE_MIN_CONNECTIONS`; default 1.
    pub database_min_connections: u32,
    /// Seconds a request waits for a free connection before it fails with a
    /// temporary error. `CONNECT_DATABASE_ACQUIRE_TIMEOUT_SECONDS`; default 30.
    pub database_acquire_timeout_seconds: u32,
    /// The platform host, which is no school's. `CONNECT_PLATFORM_HOST`;
    /// default `127.0.0.1:8080`.
    pub platform_host: String,
    /// Every school is at `{subdomain}.{base_domain}`. `CONNECT_BASE_DOMAIN`;
    /// default `localhost:8080`.
    pub base_domain: String,
    /// Proxies (addresses or CIDR blocks) whose forwarding headers are
    /// believed. `CONNECT_TRUSTED_PROXIES` (a TOML array such as
    /// `["10.0.0.0/8"]`); default none.
    pub trusted_proxies: Vec<String>,
    /// Which forwarding headers the trusted proxies set: `x-forwarded`
    /// (`X-Forwarded-Host`, `X-Forwarded-Proto`) or `forwarded` (RFC 7239).
    /// Only that family is read. `CONNECT_FORWARDED_HEADERS`; default
    /// `x-forwarded`.
    pub forwarded_headers: String,
    /// Authorization code lifetime, at most 600. `CONNECT_CODE_LIFETIME_SECONDS`;
    /// default 300.
    pub code_lifetime_seconds: u32,
    /// Refresh token lifetime. `CONNECT_REFRESH_TOKEN_LIFETIME_SECONDS`; default
    /// 2592000 (30 days).
    pub refresh_token_lifetime_seconds: u32,
    /// Login session lifetime. `CONNECT_SESSION_LIFETIME_SECONDS`; default 43200
    /// (12 hours).
    pub session_lifetime_seconds: u32,
    /// Seconds after a refresh during which the same client may present the
    /// rotated refresh token again (its answer was lost) and get a new pair;
    /// 0 turns this off, at most 60. `CONNECT_REFRESH_RETRY_WINDOW_SECONDS`;
    /// default 0.
    pub refresh_retry_window_seconds: u32,
    /// How often expired codes, tokens and sessions are pruned.
    /// `CONNECT_PRUNE_INTERVAL_SECONDS`; default 300.
    pub prune_interval_seconds: u32,
    /// How long expired rows are kept before pruning (for investigations).
    /// `CONNECT_PRUNE_RETENTION_SECONDS`; default 604800 (7 days).
    pub prune_retention_seconds: u32,
    /// Whether dynamic client registration (RFC 7591) is open.
    /// `CONNECT_DYNAMIC_REGISTRATION_ENABLED`; default false.
    pub dynamic_registration_enabled: bool,
    /// The audience of dynamically registered clients: `org_admin` or `member`
    /// (never `staff`). `CONNECT_DYNAMIC_REGISTRATION_AUDIENCE`; default `org_admin`.
    pub dynamic_registration_audience: String,
    /// The scopes they may get (`family:*` allowed), within the audience's
    /// ceiling. `CONNECT_DYNAMIC_REGISTRATION_SCOPES`; default
    /// `openid profile email courses:* students:* pages:*`.
    pub dynamic_registration_scopes: String,
    /// Registrations per client address per minute.
    /// `CONNECT_DYNAMIC_REGISTRATION_PER_MINUTE`; default 10.
    pub dynamic_registration_per_minute: u32,
    /// Client ID Metadata Documents to register at start, as JSON files: each
    /// describes a public platform client whose `client_id` is the document's
    /// https URL. `CONNECT_CLIENT_METADATA_DOCUMENTS` (a TOML array); default none.
    pub client_metadata_documents: Vec<String>,
    /// The audience of clients described by metadata documents (`org_admin`
    /// or `member`). `CONNECT_CLIENT_METADATA_AUDIENCE`; default `org_admin`.
    pub client_metadata_audience: String,
    /// The most scopes they may get. `CONNECT_CLIENT_METADATA_SCOPES`; default
    /// `openid profile email courses:* students:* pages:*`.
    pub client_metadata_scopes: String,
    /// URL prefixes (each ending in `/`) whose Client ID Metadata Documents
    /// may be fetched when their URL is used as a `client_id`; none by default.
    /// `CONNECT_CLIENT_METADATA_ALLOWED_PREFIXES` (a TOML array).
    pub client_metadata_allowed_prefixes: Vec<String>,
    /// Also fetch documents over plain `http` on loopback: for tests and local
    /// development only. `CONNECT_CLIENT_METADATA_ALLOW_INSECURE_LOOPBACK`;
    /// default false.
    pub client_metadata_allow_insecure_loopback: bool,
    /// HTTP worker threads; 0 means one per core. `CONNECT_WORKERS`; default 0.
    pub workers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://loopwise-connect.db".into(),
            database_max_connections: 8,
            database_min_connections: 1,
            database_acquire_timeout_seconds: 30,
            platform_host: "127.0.0.1:8080".into(),
            base_domain: "localhost:8080".into(),
            trusted_proxies: Vec::new(),
            forwarded_headers: "x-forwarded".into(),
            code_lifetime_seconds: 300,
            refresh_token_lifetime_seconds: 30 * 24 * 3600,
            session_lifetime_seconds: 12 * 3600,
            refresh_retry_window_seconds: 0,
            prune_interval_seconds: 300,
            prune_retention_seconds: 7 * 24 * 3600,
            dynamic_registration_enabled: false,
            dynamic_registration_audience: "org_admin".into(),
            dynamic_registration_scopes: "openid profile email courses:* students:* pages:*".into(),
            dynamic_registration_per_minute: 10,
            client_metadata_documents: Vec::new(),
            client_metadata_audience: "org_admin".into(),
            client_metadata_scopes: "openid profile email courses:* students:* pages:*".into(),
            client_metadata_allowed_prefixes: Vec::new(),
            client_metadata_allow_insecure_loopback: false,
            workers: 0,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&str>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !std::path::Path::new(file).is_file() {
                bail!("configuration file `{file}` does not exist");
            }
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .merge(Env::prefixed("CONNECT_").ignore(&["CONFIG"]))
            .extract()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.code_lifetime_seconds == 0 || self.code_lifetime_seconds > 600 {
            bail!("code_lifetime_seconds must be between 1 and 600");
        }
        if self.refresh_token_lifetime_seconds < 60 {
            bail!("refresh_token_lifetime_seconds must be at least 60");
        }
        if self.session_lifetime_seconds < 60 {
            bail!("session_lifetime_seconds must be at least 60");
        }
        if self.platform_host.is_empty() || self.base_domain.is_empty() {
            bail!("platform_host and base_domain must be set");
        }
        if self.refresh_retry_window_seconds > 60 {
            bail!("refresh_retry_window_seconds must be at most 60");
        }
        if self.prune_interval_seconds == 0 {
            bail!("prune_interval_seconds must be at least 1");
        }
        if self.database_max_connections == 0 {
            bail!("database_max_connections must be at least 1");
        }
        if self.database_min_connections > self.database_max_connections {
            bail!("database_min_connections must not exceed database_max_connections");
        }
        if self.database_acquire_timeout_seconds == 0 {
            bail!("database_acquire_timeout_seconds must be at least 1");
        }
        oauth_storage::Backend::of_url(&self.database_url)
            .context("database_url must be sqlite://PATH or postgres://…")?;
        TrustedProxies::parse(&self.trusted_proxies)?;
        self.forwarded_headers()?;
        self.dynamic_registration()?;
        self.client_metadata()?;
        if let Some(bad) = self
            .client_metadata_allowed_prefixes
            .iter()
            .find(|p| !p.ends_with('/') || !(p.starts_with("https://") || p.starts_with("http://")))
        {
            bail!("client_metadata_allowed_prefixes entries are URLs ending in /: `{bad}`");
        }
        Ok(())
    }

    /// The audience and scope limit of clients described by metadata documents.
    pub fn client_metadata(&self) -> anyhow::Result<(Audience, ScopeSet)> {
        let audience: Audience = self.client_metadata_audience.parse()?;
        if audience == Audience::Staff {
            bail!("client_metadata_audience cannot be staff");
        }
        let scopes = ScopeSet::parse_config(&self.client_metadata_scopes)?;
        validate_registration_scopes(&Registration::Platform, audience, &scopes)
            .context("client_metadata_scopes")?;
        Ok((audience, scopes))
    }

    fn forwarded_headers(&self) -> anyhow::Result<ForwardedHeaders> {
        match self.forwarded_headers.as_str() {
            "x-forwarded" => Ok(ForwardedHeaders::XForwarded),
            "forwarded" => Ok(ForwardedHeaders::Forwarded),
            other => bail!("forwarded_headers must be x-forwarded or forwarded, not `{other}`"),
        }
    }

    /// The dynamic registration settings, checked against the core rules.
    fn dynamic_registration(&self) -> anyhow::Result<Option<DynamicRegistration>> {
        if !self.dynamic_registration_enabled {
            return Ok(None);
        }
        let audience: Audience = self.dynamic_registration_audience.parse()?;
        if audience == Audience::Staff {
            bail!("dynamic_registration_audience cannot be staff");
        }
        let scopes = ScopeSet::parse_config(&self.dynamic_registration_scopes)?;
        validate_registration_scopes(&Registration::Platform, audience, &scopes)
            .context("dynamic_registration_scopes")?;
        Ok(Some(DynamicRegistration {
            audience,
            scopes,
            per_minute: self.dynamic_registration_per_minute.max(1),
        }))
    }

    /// The HTTP layer's part of the configuration.
    pub fn http(&self) -> anyhow::Result<HttpConfig> {
        Ok(HttpConfig {
            platform_host: self.platform_host.to_ascii_lowercase(),
            base_domain: self.base_domain.to_ascii_lowercase(),
            trusted_proxies: TrustedProxies::parse(&self.trusted_proxies)?,
            forwarded_headers: self.forwarded_headers()?,
            code_lifetime: oauth_core::token::code_lifetime(self.code_lifetime_seconds),
            refresh_token_lifetime: Duration::seconds(i64::from(
                self.refresh_token_lifetime_seconds,
            )),
            session_lifetime: Duration::seconds(i64::from(self.session_lifetime_seconds)),
            refresh_retry_window: Duration::seconds(i64::from(self.refresh_retry_window_seconds)),
            dynamic_registration: self.dynamic_registration()?,
            client_metadata_documents: !self.client_metadata_documents.is_empty(),
            client_metadata_fetch: if self.client_metadata_allowed_prefixes.is_empty() {
                None
            } else {
                let (audience, scopes) = self.client_metadata()?;
                Some(ClientMetadataFetch {
                    allowed_prefixes: self.client_metadata_allowed_prefixes.clone(),
                    audience,
                    scopes,
                    allow_insecure_loopback: self.client_metadata_allow_insecure_loopback,
                })
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example file documents every field with its default: loading it must
    /// give exactly the defaults, so the two cannot drift apart.
    #[test]
    fn the_example_file_states_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../connect.example.toml");
        let from_file: Config = Figment::from(Toml::file(path)).extract().unwrap();
        let defaults = Config::default();
        assert_eq!(format!("{from_file:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn bad_settings_are_refused_before_the_server_starts() {
        let mut config = Config {
            code_lifetime_seconds: 601,
            ..Config::default()
        };
        assert!(config.validate().is_err());
        config = Config {
            refresh_retry_window_seconds: 61,
            ..Config::default()
        };
        assert!(config.validate().is_err());
        config = Config {
            trusted_proxies: vec!["not-an-ip".into()],
            ..Config::default()
        };
        assert!(config.validate().is_err());
        config = Config {
            dynamic_registration_enabled: true,
            dynamic_registration_audience: "staff".into(),
            ..Config::default()
        };
        assert!(config.validate().is_err());
        config = Config {
            dynamic_registration_enabled: true,
            dynamic_registration_scopes: "openid admin:read".into(),
            ..Config::default()
        };
        assert!(config.validate().is_err());
    }
}

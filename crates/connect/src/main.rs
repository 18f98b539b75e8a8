//! `loopwise-connect`: the authorization server's binary. It reads the
//! configuration, opens the database, wires the HTTP layer and runs the
//! operator's commands. Start-up errors are reported here, before binding.

mod config;
mod demo;
mod operator;

use std::net::SocketAddr;
use std::process::ExitCode;

use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use oauth_admin::Operator;
use oauth_http::AppState;
use oauth_storage::{Store, StoreOptions};
use tracing_subscriber::EnvFilter;

use crate::config::Config;

/// Loopwise Connect: a multi-tenant OAuth 2.0 and OpenID Connect server.
#[derive(Debug, Parser)]
#[command(name = "loopwise-connect", version)]
struct Cli {
    /// A TOML configuration file (see connect.example.toml).
    #[arg(long, global = true, env = "CONNECT_CONFIG")]
    config: Option<String>,
    /// Print operator commands' results as JSON, one object per line.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Seed the demo platform and run the server on it.
    Demo {
        /// Address to listen on; the demo's host names use its port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Database; without it `DATABASE_URL` when set (a PostgreSQL URL
        /// works too), else a SQLite file in the current folder.
        #[arg(long, env = "CONNECT_DEMO_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Operator commands over the configured database.
    #[command(flatten)]
    Operator(operator::OperatorCommand),
}

/// Where the demo keeps its data unless told otherwise.
const DEMO_DATABASE_URL: &str = "sqlite://loopwise-connect-demo.db";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: log files and collectors get plain
        // text, so nothing in a logged value can pass for an escape sequence.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the chain of causes on one line, without a backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Migrate => {
            let store = open_store(&config)?;
            let applied = store.migrate()?;
            tracing::info!(applied, "migrations are up to date");
            Ok(())
        }
        Command::Serve => serve(config).await,
        Command::Operator(command) => {
            operator::run(open_store(&config)?, &config, command, cli.json).await
        }
        Command::Demo {
            listen,
            database_url,
        } => {
            config.listen = listen;
            config.database_url = database_url
                .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()))
                .unwrap_or_else(|| DEMO_DATABASE_URL.to_owned());
            config.platform_host = format!("127.0.0.1:{}", listen.port());
            config.base_domain = format!("localhost:{}", listen.port());
            config.dynamic_registration_enabled = true;
            config
                .client_metadata_documents
                .push(demo::example_document_path()?);
            config.validate()?;
            let store = open_store(&config)?;
            demo::seed(&store, &Operator::new(store.clone()), listen.port())
                .await
                .context("seeding the demo failed")?;
            demo::start_resource_server(store.clone(), listen.port()).await?;
            demo::print_banner(listen.port())?;
            serve(config).await
        }
    }
}

/// Deletes expired codes, tokens and sessions past the retention window, in
/// bounded batches so no single statement holds the database for long.
async fn prune_forever(store: Store, interval: std::time::Duration, retention: chrono::Duration) {
    const BATCH: i64 = 1000;
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        let mut total = 0;
        loop {
            match store
                .prune_expired(chrono::Utc::now(), retention, BATCH)
                .await
            {
                Ok(deleted) => {
                    total += deleted;
                    if deleted < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "pruning expired rows failed; will retry");
                    break;
                }
            }
        }
        if total > 0 {
            tracing::info!(deleted = total, "pruned expired codes, tokens and sessions");
        }
    }
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        max_connections: config.database_max_connections,
        min_connections: config.database_min_connections,
        acquire_timeout: std::time::Duration::from_secs(
            config.database_acquire_timeout_seconds.into(),
        ),
        ..StoreOptions::default()
    };
    Store::open(&config.database_url, &options).context("opening the database failed")
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config)?;
    let operator = Operator::new(store.clone());
    if operator
        .ensure_signing_key()
        .await
        .context("creating the first signing key failed")?
    {
        tracing::info!("created the first ID token signing key");
    }
    let (audience, scopes) = config.client_metadata()?;
    for path in &config.client_metadata_documents {
        let document = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
        let client_id = demo::document_client_id(&document)
            .with_context(|| format!("{path} has no client_id"))?;
        operator
            .register_metadata_document(&client_id, &document, audience, &scopes)
            .await
            .with_context(|| format!("registering the client metadata document {path}"))?;
        tracing::info!(client.id = %client_id, "client metadata document registered");
    }
    tokio::spawn(prune_forever(
        store.clone(),
        std::time::Duration::from_secs(u64::from(config.prune_interval_seconds)),
        chrono::Duration::seconds(i64::from(config.prune_retention_seconds)),
    ));
    let state = AppState::new(store, config.http()?)?;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(web::PayloadConfig::new(64 * 1024))
            .configure(oauth_http::configure)
    });
    if config.workers > 0 {
        server = server.workers(config.workers);
    }
    let server = server
        .bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(listen = %config.listen, platform_host = %config.platform_host, "serving");
    server.run().await?;
    Ok(())
}

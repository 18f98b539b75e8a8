//! Runs the reference resource server against an authorization server's
//! database, for one school.

use clap::Parser;
use oauth_storage::{Store, StoreOptions};
use reference_resource_server::Settings;

/// The reference resource server of the Loopwise platform.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: std::net::SocketAddr,
    /// The authorization server's database.
    #[arg(
        long,
        env = "CONNECT_DATABASE_URL",
        default_value = "sqlite://loopwise-connect-demo.db"
    )]
    database_url: String,
    /// The school (subdomain) whose data this server holds.
    #[arg(long, default_value = "demo")]
    school: String,
    /// The school's issuer.
    #[arg(long, default_value = "http://localhost:8080")]
    issuer: String,
    /// This server's public origin.
    #[arg(long, default_value = "http://localhost:8081")]
    origin: String,
    /// The platform issuer, to also serve `/platform/mcp` for platform sign-in.
    #[arg(long)]
    platform_issuer: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let store = Store::open(&args.database_url, &StoreOptions::default())?;
    let school = store
        .find_school_by_subdomain(&args.school)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no school has the subdomain `{}`", args.school))?;
    let settings = Settings {
        school_id: school.id,
        school_name: school.display_name,
        issuer: args.issuer,
        origin: args.origin,
        platform_issuer: args.platform_issuer,
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(listen = %args.listen, "reference resource server listening");
    reference_resource_server::serve(listener, store, settings).await?;
    Ok(())
}

//! The demo: a small platform seeded into the configured database, served so
//! that the whole flow works on one machine with no DNS set-up.

use std::io::Write as _;

use oauth_admin::{ApplicationSpec, Operator};
use oauth_core::{Audience, ClientType, Registration, Role};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "demo-password";
/// A fixed PKCE pair (RFC 7636 Appendix B), so the printed URL can be followed
/// by hand.
pub const DEMO_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const DEMO_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Seeds schools, users and applications. Safe to run again: what exists is
/// left as it is.
pub async fn seed(
    store: &oauth_storage::Store,
    operator: &Operator,
    port: u16,
) -> anyhow::Result<()> {
    let demo = operator.ensure_school("demo", "Demo School").await?;
    let other = operator.ensure_school("other", "Other School").await?;
    operator
        .add_domain(
            demo.id,
            &format!("localhost:{port}"),
            &format!("127.0.0.1:{port}"),
            &format!(".localhost:{port}"),
        )
        .await?;

    let owner = operator
        .ensure_user("owner@demo.test", "Olivia Owner", DEMO_PASSWORD)
        .await?;
    let student = operator
        .ensure_user("student@demo.test", "Sam Student", DEMO_PASSWORD)
        .await?;
    let multi = operator
        .ensure_user("multi@demo.test", "Morgan Multi", DEMO_PASSWORD)
        .await?;
    operator.set_role(owner, demo.id, Role::Owner).await?;
    operator.set_role(student, demo.id, Role::Student).await?;
    operator.set_role(multi, demo.id, Role::Student).await?;
    operator.set_role(multi, other.id, Role::Manager).await?;

    let apps = [
        ApplicationSpec {
            client_id: Some("demo-dashboard".into()),
            name: "Demo Dashboard".into(),
            registration: Registration::School(demo.id),
            audience: Audience::Member,
            client_type: ClientType::Confidential,
            redirect_uris: vec!["http://127.0.0.1:9000/callback".into()],
            scopes: "openid profile email courses:read".into(),
            secret: Some("demo-dashboard-secret".into()),
            may_introspect: true,
        },
        ApplicationSpec {
            client_id: Some("demo-quiz".into()),
            name: "Demo Quiz".into(),
            registration: Registration::School(demo.id),
            audience: Audience::Member,
            client_type: ClientType::Public,
            redirect_uris: vec!["http://127.0.0.1/callback".into()],
            scopes: "openid profile courses:read".into(),
            secret: None,
            may_introspect: false,
        },
        ApplicationSpec {
            client_id: Some("claude-code".into()),
            name: "Claude Code".into(),
            registration: Registration::Platform,
            audience: Audience::OrgAdmin,
            client_type: ClientType::Public,
            redirect_uris: vec![
                "http://localhost/callback".into(),
                "http://127.0.0.1/callback".into(),
            ],
            scopes: "openid profile email courses:* students:* pages:*".into(),
            secret: None,
            may_introspect: false,
        },
        ApplicationSpec {
            client_id: Some("cursor".into()),
            name: "Cursor".into(),
            registration: Registration::Platform,
            audience: Audience::OrgAdmin,
            client_type: ClientType::Public,
            redirect_uris: vec!["cursor://anysphere.cursor-retrieval/oauth/callback".into()],
            scopes: "openid profile email courses:* students:* pages:*".into(),
            secret: None,
            may_introspect: false,
        },
        ApplicationSpec {
            client_id: Some("loopwise-cli".into()),
            name: "Loopwise CLI".into(),
            registration: Registration::Platform,
            audience: Audience::OrgAdmin,
            client_type: ClientType::Public,
            redirect_uris: vec!["http://127.0.0.1/callback".into()],
            scopes: "openid profile email courses:* students:* pages:* enrollments:* orders:*"
                .into(),
            secret: None,
            may_introspect: false,
        },
    ];
    for spec in apps {
        operator.ensure_application(spec).await?;
    }
    let resource_server = resource_server_port(port);
    for (path, name) in [
        ("/mcp", "Demo School MCP"),
        ("/platform/mcp", "Demo School MCP (platform sign-in)"),
        ("/api/courses", "Demo School courses API"),
    ] {
        let resource = format!("http://localhost:{resource_server}{path}");
        store
            .upsert_school_resource(demo.id, resource, name.into(), chrono::Utc::now())
            .await?;
    }
    Ok(())
}

/// The example client metadata document the demo registers.
const EXAMPLE_DOCUMENT: &str =
    include_str!("../../../examples/client-metadata/example-mcp-client.json");

/// Writes the example document to a file and returns its path, so the demo
/// registers it through configuration like any deployment would.
pub fn example_document_path() -> anyhow::Result<String> {
    let name = format!(
        "loopwise-connect-example-mcp-client-{}.json",
        std::process::id()
    );
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, EXAMPLE_DOCUMENT)?;
    Ok(path.display().to_string())
}

/// The `client_id` a metadata document names.
pub fn document_client_id(document: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(document).ok()?;
    value.get("client_id")?.as_str().map(str::to_owned)
}

/// The reference resource server runs on the port after the server's.
pub fn resource_server_port(port: u16) -> u16 {
    port.saturating_add(1)
}

/// Starts the reference resource server (an MCP endpoint and a courses API of
/// school demo) beside the authorization server. A port that is taken is
/// reported and the demo goes on without it.
pub async fn start_resource_server(store: oauth_storage::Store, port: u16) -> anyhow::Result<()> {
    let Some(school) = store.find_school_by_subdomain("demo").await? else {
        anyhow::bail!("school demo is missing");
    };
    let rs_port = resource_server_port(port);
    let settings = reference_resource_server::Settings {
        school_id: school.id,
        school_name: school.display_name,
        issuer: format!("http://localhost:{port}"),
        origin: format!("http://localhost:{rs_port}"),
        platform_issuer: Some(format!("http://127.0.0.1:{port}")),
    };
    match tokio::net::TcpListener::bind(("127.0.0.1", rs_port)).await {
        Ok(listener) => {
            tokio::spawn(async move {
                if let Err(e) = reference_resource_server::serve(listener, store, settings).await {
                    tracing::warn!(error = %e, "the reference resource server stopped");
                }
            });
        }
        Err(e) => {
            tracing::warn!(port = rs_port, error = %e, "the reference resource server could not start")
        }
    }
    Ok(())
}

/// Prints where the demo is and how to try it.
pub fn print_banner(port: u16) -> std::io::Result<()> {
    let authorize = format!(
        "http://localhost:{port}/oauth/authorize?response_type=code&client_id=demo-dashboard\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback&scope=openid%20profile%20courses%3Aread\
         &state=demo-state&code_challenge={DEMO_CHALLENGE}&code_challenge_method=S256"
    );
    let platform = format!(
        "http://127.0.0.1:{port}/oauth/authorize?response_type=code&client_id=claude-code\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A33418%2Fcallback&scope=openid%20courses%3Aread\
         &state=demo-state&code_challenge={DEMO_CHALLENGE}&code_challenge_method=S256"
    );
    let mut out = std::io::stdout().lock();
    writeln!(out, "Loopwise Connect demo")?;
    writeln!(out)?;
    writeln!(out, "  platform host   http://127.0.0.1:{port}")?;
    writeln!(
        out,
        "  school demo     http://localhost:{port}  and  http://demo.localhost:{port}"
    )?;
    writeln!(out, "  school other    http://other.localhost:{port}")?;
    writeln!(out)?;
    writeln!(out, "  users (password {DEMO_PASSWORD}):")?;
    writeln!(out, "    owner@demo.test     owner of demo")?;
    writeln!(out, "    student@demo.test   student of demo")?;
    writeln!(
        out,
        "    multi@demo.test     student of demo, manager of other"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "  applications: demo-dashboard (secret demo-dashboard-secret), demo-quiz, claude-code"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Open this in a browser, log in as student@demo.test and approve:"
    )?;
    writeln!(out)?;
    writeln!(out, "  {authorize}")?;
    writeln!(out)?;
    writeln!(
        out,
        "The browser then fails to load http://127.0.0.1:9000/callback?code=...; copy the code"
    )?;
    writeln!(
        out,
        "from its address bar and exchange it within five minutes:"
    )?;
    writeln!(out)?;
    writeln!(out, "  curl -s -u demo-dashboard:demo-dashboard-secret http://localhost:{port}/api/oauth/token \\")?;
    writeln!(
        out,
        "    -d grant_type=authorization_code -d code=PASTE_CODE \\"
    )?;
    writeln!(
        out,
        "    -d redirect_uri=http://127.0.0.1:9000/callback -d code_verifier={DEMO_VERIFIER}"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "A platform application picks its school at the platform host; log in as"
    )?;
    writeln!(out, "multi@demo.test to see the school picker:")?;
    writeln!(out)?;
    writeln!(out, "  {platform}")?;
    writeln!(out)?;
    writeln!(
        out,
        "School administration (applications, grants, audit log), as owner@demo.test:"
    )?;
    writeln!(out)?;
    writeln!(out, "  http://localhost:{port}/admin")?;
    writeln!(out)?;
    out.flush()
}

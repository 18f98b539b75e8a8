//! A real `loopwise-connect demo` process on a free loopback port with a fresh
//! database, and a browser-like HTTP client to drive its pages.
//!
//! The database comes from `oauth_storage::scratch`: a SQLite file, or a new
//! PostgreSQL database when `LOOPWISE_TEST_POSTGRES_URL` names a server, so every
//! end-to-end test runs unchanged on either backend.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]
#![expect(
    clippy::unwrap_used,
    reason = "a broken fixture should fail the test loudly"
)]

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oauth_storage::scratch::ScratchDatabase;
use oauth_storage::Backend;
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};

/// The PKCE pair of RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const PASSWORD: &str = "demo-password";
pub const DASHBOARD_REDIRECT: &str = "http://127.0.0.1:9000/callback";
pub const DASHBOARD_SECRET: &str = "demo-dashboard-secret";

/// The demo's hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `127.0.0.1:PORT`, the platform issuer.
    Platform,
    /// `localhost:PORT`, a custom domain of school demo.
    Demo,
    /// `demo.localhost:PORT`, school demo under the base domain.
    DemoSubdomain,
    /// `other.localhost:PORT`, school other.
    Other,
    /// `nowhere.localhost:PORT`, no school.
    Unknown,
}

pub struct Server {
    child: Child,
    pub port: u16,
    /// Dropped after the process is ended, in `Drop` below.
    database: ScratchDatabase,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port whose successor is free too: the demo runs the reference
/// resource server on the next port.
fn free_port_pair() -> u16 {
    loop {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

impl Server {
    /// Starts the demo and waits until it answers.
    pub async fn start() -> Server {
        Self::start_with(&[]).await
    }

    /// Starts the demo with extra environment variables.
    pub async fn start_with(env: &[(&str, &str)]) -> Server {
        for _attempt in 0..10 {
            // A fresh database per attempt, so a retry starts from a clean demo.
            let database = ScratchDatabase::new().unwrap();
            let port = free_port_pair();
            let mut command = Command::new(env!("CARGO_BIN_EXE_loopwise-connect"));
            command
                .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
                .args(["--database-url", database.url()])
                .env("RUST_LOG", "warn")
                .env("CONNECT_WORKERS", "2")
                // Two server processes and the test's own store share one
                // database in some tests; a small pool each is plenty.
                .env("CONNECT_DATABASE_MAX_CONNECTIONS", "4")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit());
            for (k, v) in env {
                command.env(k, v);
            }
            let mut child = command.spawn().unwrap();
            let probe = Client::new();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // Exited: most likely the port was taken meanwhile.
                }
                let healthy = probe
                    .get(format!("http://127.0.0.1:{port}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if healthy {
                    // The resource server binds before the server answers; if
                    // its port was taken meanwhile, start over elsewhere.
                    let resource_server = probe
                        .get(format!(
                            "http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp",
                            port + 1
                        ))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if !resource_server {
                        break;
                    }
                    return Server {
                        child,
                        port,
                        database,
                    };
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the server did not start");
    }

    /// The server's database URL.
    pub fn database_url(&self) -> &str {
        self.database.url()
    }

    /// The backend the server runs on.
    pub fn backend(&self) -> Backend {
        self.database.backend()
    }

    /// Runs SQL statements directly on the server's database, as an operator
    /// with a database shell would.
    pub fn execute_sql(&self, sql: &str) {
        use diesel::connection::SimpleConnection as _;
        use diesel::Connection as _;
        match self.backend() {
            Backend::Sqlite => {
                let path = self.database_url().trim_start_matches("sqlite://");
                let mut conn = diesel::sqlite::SqliteConnection::establish(path).unwrap();
                conn.batch_execute(&format!("PRAGMA busy_timeout = 5000; {sql}"))
                    .unwrap();
            }
            Backend::Postgres => {
                let mut conn = diesel::pg::PgConnection::establish(self.database_url()).unwrap();
                conn.batch_execute(sql).unwrap();
            }
        }
    }

    /// Runs an operator command of the binary against this server's database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_loopwise-connect"))
            .args(args)
            .env("CONNECT_DATABASE_URL", self.database.url())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs an operator command with extra environment variables.
    pub fn cli_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_loopwise-connect"))
            .args(args)
            .env("CONNECT_DATABASE_URL", self.database.url())
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs an operator command with `stdin` as its standard input.
    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise-connect"))
            .args(args)
            .env("CONNECT_DATABASE_URL", self.database.url())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Registers an application of school demo with these redirect URIs and
    /// returns its client id.
    pub fn register_demo_app(&self, redirect_uris: &[&str]) -> String {
        let mut args = vec![
            "app-register",
            "--school",
            "demo",
            "--name",
            "Case App",
            "--scopes",
            "openid courses:*",
        ];
        for uri in redirect_uris {
            args.extend(["--redirect-uri", uri]);
        }
        let output = self.cli(&args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        stdout
            .split("client_id ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    }

    pub fn host(&self, host: Host) -> String {
        let name = match host {
            Host::Platform => "127.0.0.1",
            Host::Demo => "localhost",
            Host::DemoSubdomain => "demo.localhost",
            Host::Other => "other.localhost",
            Host::Unknown => "nowhere.localhost",
        };
        format!("{name}:{}", self.port)
    }

    pub fn issuer(&self, host: Host) -> String {
        format!("http://{}", self.host(host))
    }

    pub fn url(&self, host: Host, path: &str) -> String {
        format!("{}{path}", self.issuer(host))
    }

    /// An HTTP client that resolves the demo's names to loopback, keeps
    /// cookies and does not follow redirects: a browser the test steers.
    pub fn browser(&self) -> Client {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .resolve("demo.localhost", addr)
            .resolve("other.localhost", addr)
            .resolve("nowhere.localhost", addr)
            .resolve("localhost", addr)
            .build()
            .unwrap()
    }

    /// A plain API client (no cookies, no redirects) with the same resolution.
    pub fn api(&self) -> Client {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        Client::builder()
            .redirect(Policy::none())
            .resolve("demo.localhost", addr)
            .resolve("other.localhost", addr)
            .resolve("nowhere.localhost", addr)
            .resolve("localhost", addr)
            .build()
            .unwrap()
    }

    /// Logs `email` in at `host` through the login form.
    pub async fn login(&self, browser: &Client, host: Host, email: &str) {
        login_at(browser, &self.issuer(host), email).await;
    }

    /// Follows an authorization request as a logged-in user who approves
    /// whatever is asked, and returns the final redirect to the client.
    pub async fn approve(&self, browser: &Client, authorize_url: &str) -> Redirect {
        let response = browser.get(authorize_url).send().await.unwrap();
        if response.status() == StatusCode::FOUND {
            return Redirect::from_response(&response);
        }
        assert_eq!(response.status(), StatusCode::OK, "expected a consent page");
        let host = reqwest::Url::parse(authorize_url).unwrap();
        let origin = format!("{}://{}", host.scheme(), host.host_str().unwrap());
        let origin = match host.port() {
            Some(port) => format!("{origin}:{port}"),
            None => origin,
        };
        let inputs = hidden_inputs(&response.text().await.unwrap());
        self.submit_consent(browser, &origin, inputs, "approve")
            .await
    }

    /// Posts the consent form with `decision`.
    pub async fn submit_consent(
        &self,
        browser: &Client,
        origin: &str,
        mut inputs: Vec<(String, String)>,
        decision: &str,
    ) -> Redirect {
        inputs.push(("decision".into(), decision.into()));
        let response = browser
            .post(format!("{origin}/oauth/consent"))
            .form(&inputs)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "consent was not redirected"
        );
        Redirect::from_response(&response)
    }
}

/// Logs `email` in through the login form at `origin` (`http://host:port`).
pub async fn login_at(browser: &Client, origin: &str, email: &str) {
    let page = browser
        .get(format!("{origin}/oauth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let inputs = hidden_inputs(&page.text().await.unwrap());
    let csrf = value_of(&inputs, "csrf_token").unwrap();
    let response = browser
        .post(format!("{origin}/oauth/login"))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
            ("return_to", "/oauth/authorize"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "login of {email} failed"
    );
}

/// A redirect to the client, split into its parts.
#[derive(Debug, Clone)]
pub struct Redirect {
    pub location: String,
    pub params: Vec<(String, String)>,
}

impl Redirect {
    pub fn from_response(response: &Response) -> Redirect {
        let location = response
            .headers()
            .get("location")
            .expect("a Location header")
            .to_str()
            .unwrap()
            .to_owned();
        let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let params = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        Redirect { location, params }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        value_of(&self.params, name)
    }
}

pub fn value_of(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The `<input type="hidden">` fields of a page, unescaped.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\"")
        .skip(1)
        .filter_map(|tail| {
            let name = between(tail, "name=\"", "\"")?;
            let value = between(tail, "value=\"", "\"")?;
            Some((unescape(name), unescape(value)))
        })
        .collect()
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let to = s[from..].find(end)? + from;
    Some(&s[from..to])
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// An authorization URL at `host` with the given parameters.
pub fn authorize_url(server: &Server, host: Host, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    server.url(host, &format!("/oauth/authorize?{query}"))
}

/// The parameters of a good request by `client_id` to `redirect_uri`.
pub fn good_request<'a>(client_id: &'a str, redirect_uri: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", "state-123"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// Replaces (or adds) one parameter.
pub fn with<'a>(
    mut params: Vec<(&'a str, &'a str)>,
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    params.retain(|(k, _)| *k != name);
    params.push((name, value));
    params
}

/// Removes one parameter.
pub fn without<'a>(mut params: Vec<(&'a str, &'a str)>, name: &str) -> Vec<(&'a str, &'a str)> {
    params.retain(|(k, _)| *k != name);
    params
}

/// Obtains a code for `demo-dashboard` as `student@demo.test` at `host`.
pub async fn dashboard_code(server: &Server, host: Host) -> String {
    let browser = server.browser();
    server.login(&browser, host, "student@demo.test").await;
    let redirect = server
        .approve(
            &browser,
            &authorize_url(
                server,
                host,
                &good_request("demo-dashboard", DASHBOARD_REDIRECT),
            ),
        )
        .await;
    redirect.get("code").expect("a code")
}

/// Posts a form to the token endpoint at `host` as `demo-dashboard` (Basic).
pub async fn dashboard_token_request(
    server: &Server,
    host: Host,
    form: &[(&str, &str)],
) -> Response {
    server
        .api()
        .post(server.url(host, "/api/oauth/token"))
        .basic_auth("demo-dashboard", Some(DASHBOARD_SECRET))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Exchanges a code for a public client (no secret) at `host`.
pub async fn public_token_request(
    server: &Server,
    host: Host,
    client_id: &str,
    code: &str,
    redirect_uri: &str,
) -> Response {
    server
        .api()
        .post(server.url(host, "/api/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", VERIFIER),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap()
}

/// The JSON body of a response.
pub async fn json(response: Response) -> serde_json::Value {
    response.json().await.unwrap()
}

/// A browser logged in as `email` at `host`, with the CSRF token the admin API
/// gives it (empty when it is not an administrator there).
pub async fn admin_browser(server: &Server, host: Host, email: &str) -> (Client, String) {
    let browser = server.browser();
    server.login(&browser, host, email).await;
    let response = browser
        .get(server.url(host, "/api/admin/session"))
        .send()
        .await
        .unwrap();
    let csrf = if response.status() == StatusCode::OK {
        json(response).await["csrf_token"]
            .as_str()
            .unwrap()
            .to_owned()
    } else {
        String::new()
    };
    (browser, csrf)
}

/// Introspects `token` at school demo as `demo-dashboard`, which may.
pub async fn introspect(server: &Server, token: &str) -> serde_json::Value {
    let response = server
        .api()
        .post(server.url(Host::Demo, "/api/oauth/introspect"))
        .basic_auth("demo-dashboard", Some(DASHBOARD_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    json(response).await
}

//! A real nginx in front of the server, as a school's frontend would be: the
//! school's custom domain reaches the server only through `X-Forwarded-Host`
//! from a trusted proxy, and a whole authorization-code flow works at that
//! domain. The same header sent straight to the server from an untrusted
//! address changes nothing.
//!
//! nginx runs as a child process with a generated configuration in a
//! temporary folder. Where nginx is not installed the test says so and passes,
//! except under `CI=true`, where a missing nginx is a failure.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reqwest::header::HOST;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};

/// The school's own domain, known to the server only as a custom domain.
const SCHOOL_DOMAIN: &str = "school.example.test";

fn nginx_binary() -> Option<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"));
    candidates.into_iter().find(|p| p.is_file())
}

/// nginx listening on a free loopback port, proxying to `upstream_port`.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    async fn start(binary: &Path, upstream_port: u16) -> Nginx {
        for _attempt in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let root = dir.path().display();
            // One process in the foreground, so ending the child ends nginx.
            // The frontend sends the upstream its own address as Host, the way
            // a school's site proxies to the platform, and the name the
            // browser used in X-Forwarded-Host.
            let config = format!(
                "daemon off;
master_process off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name {SCHOOL_DOMAIN};
        location / {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_set_header Host 127.0.0.1:{upstream_port};
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"
            );
            let config_path = dir.path().join("nginx.conf");
            std::fs::write(&config_path, config).unwrap();
            let mut child = Command::new(binary)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&config_path)
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // The port was taken meanwhile; try another.
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Nginx {
                        child,
                        port,
                        _dir: dir,
                    };
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!(
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
        }
        panic!("nginx did not start");
    }
}

/// The server with 127.0.0.1 as its trusted proxy, nginx in front of it, and
/// the school's domain (with nginx's port) added to school demo. `None` when
/// nginx is missing outside CI.
async fn proxied_server() -> Option<(Server, Nginx)> {
    let Some(binary) = nginx_binary() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nginx is required under CI (Debian: apt-get install nginx)"
        );
        eprintln!("skipping the reverse-proxy test: nginx is not installed");
        return None;
    };
    let server = Server::start_with(&[
        ("CONNECT_TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
        ("CONNECT_FORWARDED_HEADERS", "x-forwarded"),
    ])
    .await;
    let nginx = Nginx::start(&binary, server.port).await;
    let domain = format!("{SCHOOL_DOMAIN}:{}", nginx.port);
    let output = server.cli(&["school-add-domain", "demo", &domain]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some((server, nginx))
}

#[tokio::test]
async fn a_whole_code_flow_works_at_a_custom_domain_behind_nginx() {
    let Some((server, nginx)) = proxied_server().await else {
        return;
    };
    let origin = format!("http://{SCHOOL_DOMAIN}:{}", nginx.port);
    let browser = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .resolve(
            SCHOOL_DOMAIN,
            SocketAddr::from(([127, 0, 0, 1], nginx.port)),
        )
        .build()
        .unwrap();

    // The school's metadata names the custom domain as its issuer.
    let metadata: serde_json::Value = browser
        .get(format!("{origin}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], origin);

    login_at(&browser, &origin, "student@demo.test").await;
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(good_request("demo-dashboard", DASHBOARD_REDIRECT))
        .finish();
    let redirect = server
        .approve(&browser, &format!("{origin}/oauth/authorize?{query}"))
        .await;
    assert_eq!(redirect.get("iss").as_deref(), Some(origin.as_str()));
    let code = redirect.get("code").expect("a code");

    let response = browser
        .post(format!("{origin}/api/oauth/token"))
        .basic_auth("demo-dashboard", Some(DASHBOARD_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", DASHBOARD_REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens = json(response).await;
    assert_eq!(tokens["school_subdomain"], "demo");
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims = id_token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], origin);
}

#[tokio::test]
async fn forwarded_host_counts_only_from_the_trusted_proxy() {
    let Some((server, nginx)) = proxied_server().await else {
        return;
    };
    let spoofed = format!("{SCHOOL_DOMAIN}:{}", nginx.port);
    let issuer_seen_from = |local: IpAddr| {
        let server = &server;
        let spoofed = spoofed.clone();
        async move {
            let client = Client::builder().local_address(local).build().unwrap();
            let metadata: serde_json::Value = client
                .get(format!(
                    "http://127.0.0.1:{}/.well-known/oauth-authorization-server",
                    server.port
                ))
                .header(HOST, server.host(Host::Platform))
                .header("x-forwarded-host", spoofed)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            metadata["issuer"].as_str().unwrap().to_owned()
        }
    };
    // From 127.0.0.2, which is no trusted proxy, the header is ignored: the
    // request is for the platform host it was sent to.
    assert_eq!(
        issuer_seen_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).await,
        server.issuer(Host::Platform)
    );
    // The same request from the trusted proxy's address is believed, so the
    // check above is not passing for some other reason.
    assert_eq!(
        issuer_seen_from(IpAddr::V4(Ipv4Addr::LOCALHOST)).await,
        format!("http://{spoofed}")
    );
}

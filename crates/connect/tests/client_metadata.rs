//! Client ID Metadata Documents fetched by URL: only from allow-listed
//! prefixes, without following redirects, within a size cap, and only when the
//! document describes the URL it was fetched from.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CALLBACK: &str = "http://127.0.0.1:33418/callback";

/// A tiny document server on loopback; returns its port and the paths asked for.
async fn document_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buffer[..n]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                log.lock().unwrap().push(path.clone());
                let url = format!("http://127.0.0.1:{port}{path}");
                let document = |client_id: &str| {
                    serde_json::json!({
                        "client_id": client_id,
                        "client_name": "Fetched MCP client",
                        "redirect_uris": [CALLBACK],
                        "token_endpoint_auth_method": "none",
                        "scope": "openid courses:read",
                    })
                    .to_string()
                };
                let (status, extra, body) = match path.as_str() {
                    "/allowed/client.json" | "/other/client.json" => {
                        ("200 OK", String::new(), document(&url))
                    }
                    "/allowed/redirect.json" => (
                        "302 Found",
                        format!("location: http://127.0.0.1:{port}/allowed/client.json\r\n"),
                        String::new(),
                    ),
                    "/allowed/big.json" => (
                        "200 OK",
                        String::new(),
                        format!("{{\"padding\":\"{}\"}}", "x".repeat(20_000)),
                    ),
                    "/allowed/wrong.json" => (
                        "200 OK",
                        String::new(),
                        document("https://someone-else.example/c.json"),
                    ),
                    _ => ("404 Not Found", String::new(), String::new()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (port, asked)
}

#[tokio::test]
async fn documents_are_fetched_only_when_allowed_and_sound() {
    let (doc_port, asked) = document_server().await;
    let prefixes = format!("[\"http://127.0.0.1:{doc_port}/allowed/\"]");
    let server = Server::start_with(&[
        (
            "CONNECT_CLIENT_METADATA_ALLOWED_PREFIXES",
            prefixes.as_str(),
        ),
        ("CONNECT_CLIENT_METADATA_ALLOW_INSECURE_LOOPBACK", "true"),
    ])
    .await;
    let api = server.api();
    let url_of = |path: &str| format!("http://127.0.0.1:{doc_port}{path}");

    // Refused: a redirect, an oversized document, a document naming another
    // client, and a URL outside the allow-list (which is not even fetched).
    for path in [
        "/allowed/redirect.json",
        "/allowed/big.json",
        "/allowed/wrong.json",
        "/other/client.json",
        "/allowed/%2e%2e/other/client.json",
        "/allowed/../other/client.json",
    ] {
        let client_id = url_of(path);
        let response = api
            .get(authorize_url(
                &server,
                Host::Demo,
                &good_request(&client_id, CALLBACK),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(response.headers().get("location").is_none());
    }
    let fetched = asked.lock().unwrap().clone();
    assert!(
        !fetched.iter().any(|p| p.contains("other")),
        "fetched outside the prefix: {fetched:?}"
    );
    assert_eq!(
        asked
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.as_str() == "/allowed/client.json")
            .count(),
        0,
        "no redirect was followed"
    );

    // Accepted: a sound document under the allowed prefix, through a whole flow.
    let client_id = url_of("/allowed/client.json");
    let browser = server.browser();
    server.login(&browser, Host::Demo, "owner@demo.test").await;
    let params = with(
        good_request(&client_id, CALLBACK),
        "scope",
        "openid courses:read",
    );
    // The consent page names the site that describes the client.
    let consent = browser
        .get(authorize_url(&server, Host::Demo, &params))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        consent.contains(&format!(
            "<dt>Described at</dt>\n  <dd><code>http:&#x2f;&#x2f;127.0.0.1:{doc_port}</code></dd>"
        )),
        "{consent}"
    );
    let code = server
        .approve(&browser, &authorize_url(&server, Host::Demo, &params))
        .await
        .get("code")
        .unwrap();
    let response = public_token_request(&server, Host::Demo, &client_id, &code, CALLBACK).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["scope"], "openid courses:read");
}

//! Two server processes on one database, as behind a load balancer: a code or
//! a refresh token raced across both is still redeemed exactly once, and reuse
//! of a rotated refresh token at one process revokes the family at the other.
//!
//! Nothing single-use may live in one process's memory for this to hold; these
//! tests are the proof. They run on whichever backend the suite runs on, which
//! is the point of the PostgreSQL pass: several processes are what PostgreSQL
//! is for.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use futures_util::future::join_all;
use reqwest::header::HOST;
use reqwest::{Client, StatusCode};
use serde_json::Value;

/// A second `loopwise-connect serve` on the first server's database, serving
/// the same public hosts (as a second instance behind a load balancer would)
/// on another port.
struct SecondProcess {
    child: Child,
    port: u16,
}

impl Drop for SecondProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SecondProcess {
    async fn start(first: &Server) -> SecondProcess {
        for _attempt in 0..10 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise-connect"))
                .arg("serve")
                .env("CONNECT_DATABASE_URL", first.database_url())
                .env("CONNECT_LISTEN", format!("127.0.0.1:{port}"))
                .env("CONNECT_PLATFORM_HOST", first.host(Host::Platform))
                .env("CONNECT_BASE_DOMAIN", format!("localhost:{}", first.port))
                .env("CONNECT_WORKERS", "2")
                .env("CONNECT_DATABASE_MAX_CONNECTIONS", "4")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // The port was taken meanwhile; try another.
                }
                let healthy = Client::new()
                    .get(format!("http://127.0.0.1:{port}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if healthy {
                    return SecondProcess { child, port };
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the second server process did not start");
    }
}

/// Where a request goes: the first process or the second. Either way it is
/// addressed to school demo's public host, `localhost:PORT` of the first.
#[derive(Debug, Clone, Copy)]
enum Via {
    First,
    Second,
}

struct Pair {
    first: Server,
    second: SecondProcess,
    api: Client,
}

impl Pair {
    async fn start() -> Pair {
        let first = Server::start().await;
        let second = SecondProcess::start(&first).await;
        Pair {
            first,
            second,
            api: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn via(n: usize) -> Via {
        if n.is_multiple_of(2) {
            Via::First
        } else {
            Via::Second
        }
    }

    async fn post(&self, via: Via, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let port = match via {
            Via::First => self.first.port,
            Via::Second => self.second.port,
        };
        self.api
            .post(format!("http://127.0.0.1:{port}{path}"))
            .header(HOST, self.first.host(Host::Demo))
            .basic_auth("demo-dashboard", Some(DASHBOARD_SECRET))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn exchange(&self, via: Via, code: &str) -> reqwest::Response {
        self.post(
            via,
            "/api/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", DASHBOARD_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
    }

    async fn refresh(&self, via: Via, token: &str) -> reqwest::Response {
        self.post(
            via,
            "/api/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }

    async fn is_active(&self, via: Via, access_token: &str) -> bool {
        let response = self
            .post(via, "/api/oauth/introspect", &[("token", access_token)])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        json(response).await["active"].as_bool().unwrap()
    }

    /// A fresh pair of tokens, obtained through the first process.
    async fn tokens(&self) -> Value {
        let code = dashboard_code(&self.first, Host::Demo).await;
        let response = self.exchange(Via::First, &code).await;
        assert_eq!(response.status(), StatusCode::OK);
        json(response).await
    }
}

fn s(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap().to_owned()
}

/// Splits racing responses into the successes' bodies, asserting that every
/// other answer is `invalid_grant`.
async fn winners(responses: Vec<reqwest::Response>) -> Vec<Value> {
    let mut winners = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::OK => winners.push(json(response).await),
            status => assert_eq!(
                (status, json(response).await["error"].clone()),
                (StatusCode::BAD_REQUEST, Value::from("invalid_grant"))
            ),
        }
    }
    winners
}

#[tokio::test]
async fn a_code_raced_across_two_processes_is_redeemed_once() {
    let pair = Pair::start().await;
    let code = dashboard_code(&pair.first, Host::Demo).await;
    let racing = (0..16).map(|n| pair.exchange(Pair::via(n), &code));
    let winners = winners(join_all(racing).await).await;
    assert_eq!(winners.len(), 1, "exactly one exchange may succeed");
    // The losers were replays, which revoke what the first use issued, at
    // whichever process answers.
    let access = s(&winners[0], "access_token");
    assert!(!pair.is_active(Via::First, &access).await);
    assert!(!pair.is_active(Via::Second, &access).await);
}

#[tokio::test]
async fn a_refresh_token_raced_across_two_processes_rotates_once() {
    let pair = Pair::start().await;
    let tokens = pair.tokens().await;
    let rt = s(&tokens, "refresh_token");
    let racing = (0..16).map(|n| pair.refresh(Pair::via(n), &rt));
    let winners = winners(join_all(racing).await).await;
    assert_eq!(winners.len(), 1, "exactly one rotation may succeed");
    // Every loser presented a token that had just been rotated: reuse, so the
    // whole family is dead, the winner's new pair included.
    assert!(
        !pair
            .is_active(Via::Second, &s(&winners[0], "access_token"))
            .await
    );
    assert!(
        !pair
            .is_active(Via::First, &s(&tokens, "access_token"))
            .await
    );
    let after = pair
        .refresh(Via::Second, &s(&winners[0], "refresh_token"))
        .await;
    assert_eq!(winners_of_one(after).await, 0);
}

async fn winners_of_one(response: reqwest::Response) -> usize {
    winners(vec![response]).await.len()
}

#[tokio::test]
async fn reusing_a_token_rotated_at_one_process_revokes_the_family_at_the_other() {
    let pair = Pair::start().await;
    let tokens = pair.tokens().await;
    let rotated = s(&tokens, "refresh_token");
    let response = pair.refresh(Via::First, &rotated).await;
    assert_eq!(response.status(), StatusCode::OK);
    let current = json(response).await;
    assert!(
        pair.is_active(Via::Second, &s(&current, "access_token"))
            .await
    );
    // The old token is presented to the other process: reuse.
    assert_eq!(
        winners_of_one(pair.refresh(Via::Second, &rotated).await).await,
        0
    );
    // The family is gone everywhere.
    assert!(
        !pair
            .is_active(Via::First, &s(&current, "access_token"))
            .await
    );
    assert!(
        !pair
            .is_active(Via::Second, &s(&current, "access_token"))
            .await
    );
    assert_eq!(
        winners_of_one(
            pair.refresh(Via::First, &s(&current, "refresh_token"))
                .await
        )
        .await,
        0
    );
}

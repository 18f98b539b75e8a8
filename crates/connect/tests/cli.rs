//! The operator's command line, run as the built binary against a temporary
//! database: clear results, `--json` for scripts, and a non-zero exit with a
//! clear message on bad input.

#![expect(
    clippy::unwrap_used,
    reason = "a failed step should fail the test loudly"
)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use oauth_storage::scratch::ScratchDatabase;

struct Cli {
    database: ScratchDatabase,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            database: ScratchDatabase::new().unwrap(),
        }
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise-connect"))
            .args(args)
            .env("CONNECT_DATABASE_URL", self.database.url())
            .env("RUST_LOG", "off")
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

    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, "")
    }

    fn ok_with(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run(args, stdin);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut with_json = vec!["--json"];
        with_json.extend_from_slice(args);
        serde_json::from_str(self.ok(&with_json).trim()).unwrap()
    }

    fn fails(&self, args: &[&str], stdin: &str, message: &str) {
        let output = self.run(args, stdin);
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn schools_users_and_memberships() {
    let cli = Cli::new();
    assert!(cli
        .ok(&["school-create", "north", "North School"])
        .contains("created school North School"));
    cli.ok(&["school-add-domain", "north", "north.example"]);
    let schools = cli.json(&["school-list"]);
    assert_eq!(schools[0]["subdomain"], "north");
    assert_eq!(schools[0]["domains"], serde_json::json!(["north.example"]));
    cli.ok(&["school-remove-domain", "north", "north.example"]);
    assert_eq!(
        cli.json(&["school-list"])[0]["domains"],
        serde_json::json!([])
    );

    let created: serde_json::Value = serde_json::from_str(
        cli.ok_with(
            &["--json", "user-create", "ann@example.com", "Ann"],
            "a long password\n",
        )
        .trim(),
    )
    .unwrap();
    assert_eq!(created["email"], "ann@example.com");
    assert!(cli
        .ok(&["member-set", "ann@example.com", "north", "manager"])
        .contains("manager of north"));
    cli.ok_with(
        &["user-set-password", "ann@example.com"],
        "another long password\n",
    );
    cli.ok(&["user-set-staff", "ann@example.com", "true"]);
    cli.ok(&["member-revoke", "ann@example.com", "north"]);

    cli.fails(&["school-create", "north", "Again"], "", "exists already");
    cli.fails(
        &["school-create", "Bad Name!", "X"],
        "",
        "not a valid subdomain",
    );
    cli.fails(
        &["member-set", "nobody@example.com", "north", "owner"],
        "",
        "no user has the email",
    );
    cli.fails(
        &["member-set", "ann@example.com", "north", "emperor"],
        "",
        "unknown role",
    );
    cli.fails(
        &["member-revoke", "ann@example.com", "north"],
        "",
        "has no role",
    );
    cli.fails(
        &["user-create", "bob@example.com", "Bob"],
        "short\n",
        "at least 8",
    );
    cli.fails(
        &["school-add-domain", "south", "south.example"],
        "",
        "no school has the subdomain",
    );
}

#[test]
fn applications_and_signing_keys() {
    let cli = Cli::new();
    cli.ok(&["school-create", "north", "North School"]);
    let registered = cli.json(&[
        "app-register",
        "--school",
        "north",
        "--name",
        "Grades",
        "--client-id",
        "grades",
        "--type",
        "confidential",
        "--redirect-uri",
        "https://grades.example/cb",
        "--scopes",
        "openid courses:read",
    ]);
    assert_eq!(registered["client_id"], "grades");
    assert!(
        registered["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("lwc_cs_"),
        "the secret is shown once"
    );
    let apps = cli.json(&["app-list", "--school", "north"]);
    assert_eq!(apps[0]["client_id"], "grades");
    assert!(apps[0].get("client_secret").is_none());
    assert_eq!(apps[0]["disabled"], false);
    assert!(cli.ok(&["app-disable", "grades"]).contains("is disabled"));
    assert_eq!(
        cli.json(&["app-list", "--school", "north"])[0]["disabled"],
        true
    );
    assert_eq!(
        cli.json(&["app-list"]),
        serde_json::json!([]),
        "no platform applications yet"
    );

    cli.fails(
        &[
            "app-register",
            "--platform",
            "--name",
            "Greedy",
            "--audience",
            "org-admin",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--scopes",
            "admin:read",
        ],
        "",
        "above what this kind of application may receive",
    );
    cli.fails(&["app-disable", "nobody"], "", "not a valid client_id");

    let kid = cli.json(&["signing-key-rotate"])["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    cli.ok(&["signing-key-rotate"]);
    let keys = cli.json(&["signing-key-list"]);
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(keys
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == kid.as_str() && k["active"] == false));
}

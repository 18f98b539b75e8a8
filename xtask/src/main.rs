//! Project tasks: `cargo xtask <task>`.
//!
//! - `ci`: exactly what CI runs (`.ci/run`).
//! - `demo`: builds and starts the demo server.
//!
//! This crate is tooling: it may print and use `anyhow` freely.

use std::process::Command;

use anyhow::{bail, Context as _};

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = match task.as_str() {
        "ci" => Command::new("bash")
            .arg(".ci/run")
            .current_dir(&root)
            .status(),
        "demo" => Command::new("cargo")
            .args([
                "run",
                "--release",
                "--bin",
                "loopwise-connect",
                "--",
                "demo",
            ])
            .current_dir(&root)
            .status(),
        _ => bail!("usage: cargo xtask <ci|demo>"),
    }
    .with_context(|| format!("could not start `{task}`"))?;
    if !status.success() {
        bail!("`{task}` failed");
    }
    Ok(())
}

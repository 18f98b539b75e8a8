//! Tidy checks over the repository, run as ordinary tests.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The core crate stays pure: its dependencies are small, IO-free crates.
#[test]
fn core_dependencies_are_on_the_allowlist() {
    const ALLOWED: &[&str] = &[
        "argon2",
        "base64",
        "chrono",
        "sha2",
        "subtle",
        "thiserror",
        "uuid",
    ];
    let manifest = fs::read_to_string(root().join("crates/oauth-core/Cargo.toml")).unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for line in deps
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let name = line.split(['.', '=', ' ']).next().unwrap();
        assert!(
            ALLOWED.contains(&name),
            "oauth-core must not depend on `{name}`"
        );
    }
}

/// Every library crate and module says what it is for.
#[test]
fn every_crate_root_opens_with_a_doc_comment() {
    for krate in ["oauth-core", "oauth-storage", "oauth-http", "oauth-admin"] {
        let lib = fs::read_to_string(root().join(format!("crates/{krate}/src/lib.rs"))).unwrap();
        assert!(
            lib.starts_with("//!"),
            "{krate}/src/lib.rs must open with a //! comment"
        );
    }
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    for file in files
        .iter()
        .filter(|f| f.components().any(|c| c.as_os_str() == "src"))
    {
        let text = fs::read_to_string(file).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} must open with a //! comment",
            file.display()
        );
    }
}

/// Known gaps are written as `TODO:` comments, never as panicking stubs or
/// ignored tests.
#[test]
fn no_stubs_or_ignored_tests() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    let needles = [
        concat!("todo", "!("),
        concat!("unimplemented", "!("),
        concat!("#[", "ignore"),
    ];
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for needle in needles {
            assert!(
                !text.contains(needle),
                "{} contains {needle}",
                file.display()
            );
        }
    }
}

/// Both backends' migration folders change together: the same migrations
/// under the same names, each with an `up.sql` and a `down.sql`.
#[test]
fn migrations_have_up_and_down_for_both_backends() {
    let names = |backend: &str| {
        let mut names = Vec::new();
        for entry in fs::read_dir(root().join("migrations").join(backend))
            .unwrap()
            .flatten()
        {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    entry.path().join(file).is_file(),
                    "{} lacks {file}",
                    entry.path().display()
                );
            }
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite,
        names("postgres"),
        "migrations/sqlite and migrations/postgres must hold the same migrations"
    );
}

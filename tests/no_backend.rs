//! A library that depends on anyrt without a backend: its code builds, and an
//! `#[anyrt::test]` in it is a compile error that names the features to enable (it would
//! otherwise be stamped for no backend, and pass without running).
//!
//! The library is a crate made in `target/` and checked with the `cargo` running these
//! tests, offline, with this workspace's lock file.

use std::path::{Path, PathBuf};
use std::process::Command;

const LIB: &str = r#"
use anyrt::Runtime;

/// Generic library code: builds without any backend.
pub async fn double_later<R: Runtime>(rt: &R, x: u32) -> u32 {
    rt.sleep(std::time::Duration::from_millis(1)).await;
    rt.spawn(async move { x * 2 }).await.unwrap_or(0)
}

#[anyrt::test]
async fn doubles<R: Runtime>(rt: R) {
    assert_eq!(double_later(&rt, 21).await, 42);
    panic!("this body must never run: no backend is enabled");
}
"#;

fn fixture() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target").join("no-backend-fixture");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"no-backend-lib\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\nanyrt = {{ path = {:?}, default-features = false }}\n\n\
         [workspace]\n",
        root.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src").join("lib.rs"), LIB).unwrap();
    // The versions this workspace already uses (and has downloaded).
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    dir
}

fn cargo_check(dir: &Path, tests: bool) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("check")
        .arg("--offline")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .env_remove("RUSTFLAGS")
        .env("CARGO_TERM_COLOR", "never");
    if tests {
        cmd.arg("--tests");
    }
    cmd.output().expect("cannot run cargo")
}

#[test]
fn anyrt_test_without_a_backend_is_a_compile_error_naming_the_features() {
    let dir = fixture();
    let lib = cargo_check(&dir, false);
    assert!(
        lib.status.success(),
        "the library itself must build without a backend:\n{}",
        String::from_utf8_lossy(&lib.stderr)
    );
    let tests = cargo_check(&dir, true);
    let stderr = String::from_utf8_lossy(&tests.stderr);
    assert!(!tests.status.success(), "the tests built:\n{stderr}");
    assert!(
        stderr.contains("anyrt has no backend enabled"),
        "not the expected error:\n{stderr}"
    );
    for feature in ["`tokio`", "`smol`", "`green`", "[dev-dependencies]"] {
        assert!(stderr.contains(feature), "{feature} not named:\n{stderr}");
    }
}

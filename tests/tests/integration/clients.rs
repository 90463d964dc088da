//! The JavaScript side against a real stack (issue 12): `@parley/client`'s
//! own Vitest suite (`clients/typescript/test/`) and the web page's browser
//! test (`clients/web/test/`), each given two real `parley-api` processes
//! on a fresh database. `scripts/test` installs the npm packages
//! (`clients/node_modules`) and Chromium first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parley_tests::{
    Api, ChildProcess, TestDatabase, base_env, redis_prefix, spawn_api_process, temp_dir,
};

/// Two API replicas of one Parley, with short heartbeats so that the
/// client's dead-link detection is seen within seconds.
struct Stack {
    replicas: Vec<Api>,
    _processes: Vec<ChildProcess>,
    db: TestDatabase,
}

async fn stack() -> Stack {
    let db = TestDatabase::create().await.expect("test database");
    let data_dir = temp_dir();
    let mut env = base_env(&db, &redis_prefix(), &data_dir);
    for (name, value) in [
        ("WS_HEARTBEAT_INTERVAL_MS", "1000"),
        ("SSE_HEARTBEAT_INTERVAL_MS", "1000"),
        // Many users from one address in a few seconds.
        ("REGISTER_RATE_LIMIT_PER_MINUTE", "0"),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "0"),
    ] {
        env.insert(name.into(), value.into());
    }
    let mut replicas = Vec::new();
    let mut processes = Vec::new();
    for _ in 0..2 {
        let (process, api) = spawn_api_process(&env, &data_dir)
            .await
            .expect("parley-api");
        processes.push(process);
        replicas.push(api);
    }
    Stack {
        replicas,
        _processes: processes,
        db,
    }
}

/// `clients/`, the npm workspace.
fn clients_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients");
    assert!(
        dir.join("node_modules").is_dir(),
        "{}/node_modules is missing: run scripts/test (it runs `npm ci` there)",
        dir.display()
    );
    dir
}

/// Runs `npm <args>` in `clients/` with the stack's addresses; panics with
/// its output unless it succeeds.
async fn npm(args: &[&str], stack: &Stack, extra: HashMap<&str, String>) {
    let run = tokio::process::Command::new("npm")
        .args(args)
        .current_dir(clients_dir())
        .env("PARLEY_URL_A", &stack.replicas[0].base)
        .env("PARLEY_URL_B", &stack.replicas[1].base)
        .env("DATABASE_URL", &stack.db.url)
        .env("NO_COLOR", "1")
        .envs(extra)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("npm finished within 5 minutes")
        .expect("run npm (node and npm are needed)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "npm {args:?} failed:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_client_passes_its_suite_against_a_real_stack() {
    let stack = stack().await;
    npm(&["test", "-w", "@parley/client"], &stack, HashMap::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_page_keeps_two_browsers_in_sync_through_an_outage() {
    let stack = stack().await;
    let chromium = std::env::var("PARLEY_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).is_file(),
        "{chromium} is missing: run scripts/test (it installs Debian's chromium)"
    );
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/artifacts");
    let _ = std::fs::remove_file(artifacts.join("web-page.png"));
    npm(
        &["test", "-w", "@parley/web"],
        &stack,
        HashMap::from([
            ("PARLEY_CHROMIUM", chromium),
            ("PARLEY_ARTIFACTS_DIR", artifacts.display().to_string()),
        ]),
    )
    .await;
    assert!(
        artifacts.join("web-page.png").is_file(),
        "the screenshot is kept"
    );
}

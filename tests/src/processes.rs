//! Child processes: the real binaries ([`ChildProcess`],
//! [`spawn_api_process`]) and a private [`RedisServer`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::net::TcpStream;
use uuid::Uuid;

use crate::app::free_port;
use crate::http::Api;

/// A child process of one of the real binaries, killed on drop.
pub struct ChildProcess {
    pub child: tokio::process::Child,
    pub log: PathBuf,
}

impl ChildProcess {
    /// The captured output so far (for failure messages).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Sends SIGKILL.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// Where `cargo build --bins` put `parley-api` and `parley-worker`:
/// `PARLEY_BIN_DIR`, else the directory above this test binary's `deps/`.
pub fn bin_path(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("PARLEY_BIN_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`, which the README's test command does)",
        path.display()
    );
    path
}

/// Starts `bin` (`parley-api` or `parley-worker`) with `env` and `args`,
/// output to a log file in `log_dir`.
pub fn spawn_process(
    bin: &str,
    args: &[&str],
    env: &HashMap<String, String>,
    log_dir: &std::path::Path,
) -> ChildProcess {
    let log = log_dir.join(format!("{bin}-{}.log", Uuid::new_v4().simple()));
    let file = std::fs::File::create(&log).expect("log file");
    let err = file.try_clone().expect("log file");
    let child = tokio::process::Command::new(bin_path(bin))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    ChildProcess { child, log }
}

/// Starts a real `parley-api` replica on a free port and waits until it
/// answers `/health/live`.
pub async fn spawn_api_process(
    env: &HashMap<String, String>,
    log_dir: &std::path::Path,
) -> Result<(ChildProcess, Api)> {
    let port = free_port();
    let mut env = env.clone();
    env.insert("PARLEY_BIND".into(), format!("127.0.0.1:{port}"));
    let mut process = spawn_process("parley-api", &[], &env, log_dir);
    let api = Api::new(format!("http://127.0.0.1:{port}"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(resp) = api
            .client
            .get(format!("{}/health/live", api.base))
            .send()
            .await
            && resp.status().is_success()
        {
            return Ok((process, api));
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            bail!("parley-api exited with {status}:\n{}", process.log_tail());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("parley-api did not start:\n{}", process.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A private `redis-server` on a free port (for tests that stop Redis).
pub struct RedisServer {
    pub port: u16,
    child: std::process::Child,
}

impl RedisServer {
    /// Starts one on a free port; waits until it answers.
    pub async fn start() -> Result<RedisServer> {
        Self::start_on(free_port()).await
    }

    /// Starts one on `port` (to restart a stopped one in place).
    pub async fn start_on(port: u16) -> Result<RedisServer> {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start redis-server (is it installed? see README)")?;
        let server = RedisServer { port, child };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if tokio::time::Instant::now() > deadline {
                bail!("redis-server did not start on {port}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGKILL).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A number from `/proc/<pid>/status`: the first word after `field`
/// (`"VmRSS:"` in KiB, `"Threads:"`); 0 when the process or field is gone.
pub fn proc_status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A process's resident set size, in KiB (see [`proc_status`]).
pub fn rss_kib(pid: u32) -> u64 {
    proc_status(pid, "VmRSS:")
}

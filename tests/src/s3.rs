//! A real S3 server for tests: `s3s-fs` (which `scripts/test` installs),
//! verifying SigV4 signatures, on a free port and a fresh directory.

use std::collections::HashMap;
use std::time::Duration;

use crate::app::{free_port, temp_dir};
use crate::http::wait_until;

/// A running `s3s-fs`; stopped when dropped.
pub struct S3Server {
    _process: tokio::process::Child,
    pub endpoint: String,
}

impl S3Server {
    /// Starts one (`PARLEY_S3S_FS` names the binary; `s3s-fs` on the path
    /// otherwise) and waits until it listens.
    pub async fn start() -> S3Server {
        let port = free_port();
        let root = temp_dir();
        std::fs::create_dir_all(root.join("parley")).expect("s3 root");
        let bin = std::env::var("PARLEY_S3S_FS").unwrap_or_else(|_| "s3s-fs".into());
        let args = [
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            "test-access",
            "--secret-key",
            "test-secret",
            &root.display().to_string(),
        ];
        let process = tokio::process::Command::new(&bin)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {bin} (scripts/test installs it): {e}"));
        wait_until("s3s-fs listens", Duration::from_secs(5), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        S3Server {
            _process: process,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The settings that point an app at it.
    pub fn env(&self) -> HashMap<String, String> {
        HashMap::from([
            ("S3_ENDPOINT".into(), self.endpoint.clone()),
            ("S3_ACCESS_KEY".into(), "test-access".into()),
            ("S3_SECRET_KEY".into(), "test-secret".into()),
        ])
    }
}

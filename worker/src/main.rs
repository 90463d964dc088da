//! `parley-worker`: runs background jobs until SIGINT / SIGTERM.

use std::process::ExitCode;

use parley_shared::{Settings, telemetry};

// mimalloc returns freed memory to the system (glibc keeps a 19 MiB argon2
// buffer per thread arena), which keeps the resident set near what is in use.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("parley-worker: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    tracing::info!(settings = %settings, "starting parley-worker");
    match parley_worker::run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "parley-worker failed");
            ExitCode::FAILURE
        }
    }
}

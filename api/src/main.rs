//! `parley-api`: serve the API (default), or `parley-api migrate` to apply
//! database migrations and exit. (Rebuilding the search index is
//! `parley-admin reindex`.)

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
            eprintln!("parley-api: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    let command = std::env::args().nth(1);
    let result = match command.as_deref() {
        None | Some("serve") => {
            tracing::info!(settings = %settings, "starting parley-api");
            parley_api::run(settings).await
        }
        Some("migrate") => match parley_shared::infra::db::run_migrations(&settings.db.url).await {
            Ok(applied) => {
                tracing::info!(count = applied.len(), ?applied, "migrations applied");
                Ok(())
            }
            Err(err) => Err(err),
        },
        Some(other) => {
            eprintln!("usage: parley-api [serve|migrate]  (unknown command {other:?})");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "parley-api failed");
            ExitCode::FAILURE
        }
    }
}

//! `parley-api`: serve the API (default), `parley-api migrate` to apply
//! database migrations and exit, or `parley-api reindex` to write the search
//! tokens of every message again (docs/search.md), with a progress bar.

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
        Some("reindex") => reindex(settings).await,
        Some("migrate") => match parley_shared::infra::db::run_migrations(&settings.db.url).await {
            Ok(applied) => {
                tracing::info!(count = applied.len(), ?applied, "migrations applied");
                Ok(())
            }
            Err(err) => Err(err),
        },
        Some(other) => {
            eprintln!("usage: parley-api [serve|migrate|reindex]  (unknown command {other:?})");
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

/// Writes every message's search tokens again, batch by batch.
async fn reindex(settings: Settings) -> anyhow::Result<()> {
    use parley_shared::domain::search;
    let ctx = parley_shared::AppContext::build(settings, None).await?;
    let total = search::reindex_total(&ctx).await?;
    let bar = indicatif::ProgressBar::new(total.max(0) as u64).with_style(
        indicatif::ProgressStyle::with_template("reindex [{bar:40}] {pos}/{len} {per_sec}")?
            .progress_chars("=> "),
    );
    let mut after = 0;
    while let Some((last, count)) = search::reindex_batch(&ctx, after).await? {
        bar.inc(count as u64);
        after = last;
    }
    bar.finish();
    let (users, chats) = search::reindex_names(&ctx).await?;
    tracing::info!(messages = total, users, chats, "search tokens written");
    Ok(())
}

//! `parley-api`: serve the API (default), `parley-api migrate` to apply
//! database migrations and exit, or `parley-api reindex` to write the search
//! tokens of every message, user and chat again and, with `MEILISEARCH_URL`,
//! rebuild the Meilisearch index from PostgreSQL (docs/search.md), with
//! progress bars.

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
    use parley_shared::domain::search_index;
    let ctx = parley_shared::AppContext::build(settings, None).await?;
    let total = search_index::reindex_total(&ctx).await?;
    let bar = indicatif::ProgressBar::new(total.max(0) as u64).with_style(
        indicatif::ProgressStyle::with_template("reindex [{bar:40}] {pos}/{len} {per_sec}")?
            .progress_chars("=> "),
    );
    let mut after = 0;
    while let Some((last, count)) = search_index::reindex_batch(&ctx, after).await? {
        bar.inc(count as u64);
        after = last;
    }
    bar.finish();
    let (users, chats) = search_index::reindex_names(&ctx).await?;
    tracing::info!(messages = total, users, chats, "search tokens written");
    if let Some(meili) = &ctx.meili {
        let bar =
            indicatif::ProgressBar::new(search_index::rebuild_total(&ctx).await?.max(0) as u64)
                .with_style(
                    indicatif::ProgressStyle::with_template(
                        "meilisearch [{bar:40}] {pos}/{len} chats {per_sec}",
                    )?
                    .progress_chars("=> "),
                );
        search_index::rebuild_index(&ctx, meili, || bar.inc(1)).await?;
        bar.finish();
        tracing::info!("Meilisearch index rebuilt");
    }
    Ok(())
}

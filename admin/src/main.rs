//! `parley-admin`: the operator's tool (issue 12). It talks to PostgreSQL
//! and Redis with the servers' own settings (the same environment
//! variables) and calls the domain's operators' actions
//! ([`parley_shared::domain::admin`]); no HTTP, no token.
//!
//! Passwords are read from standard input (first line), never from the
//! command line, where other users could see them. Output is one line per
//! fact on standard output; errors go to standard error with the exit
//! status 1 (2 for bad usage). Logs are off unless `RUST_LOG` is set.

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use parley_shared::domain::accounts::RegisterRequest;
use parley_shared::domain::{admin, chat_delete, jobs, retention, search_index};
use parley_shared::infra::jobs::queue_state;
use parley_shared::{AppContext, Settings, telemetry};

#[derive(Debug, Parser)]
#[command(name = "parley-admin", about = "Operate a Parley deployment")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an account (password on standard input), as registration
    /// does: the same rules and welcome email.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// Mark the email verified at once.
        #[arg(long)]
        verified: bool,
    },
    /// Mark an account's email verified. USER is an id, email or username.
    VerifyEmail { user: String },
    /// Set an account's password (on standard input); every session of it
    /// is revoked and its sockets are closed.
    ResetPassword { user: String },
    /// Deactivate an account: it can no longer log in, every session is
    /// revoked and its sockets are closed. Its chats and messages stay.
    Deactivate { user: String },
    /// Let a deactivated account log in again.
    Reactivate { user: String },
    /// List an account's active sessions, the most recently used first.
    Sessions { user: String },
    /// Delete a chat for everyone and every message of it, text included
    /// (members get `chat_deleted`). Asks for `--yes`.
    PurgeChat {
        chat_id: i64,
        /// Yes, purge it: nothing of it can be brought back.
        #[arg(long)]
        yes: bool,
    },
    /// Show each job queue's jobs by state.
    Jobs,
    /// Run one retention pass now (what the worker does every
    /// `RETENTION_INTERVAL_SECS`).
    Retention,
    /// Write the search tokens of every message, user and chat again and,
    /// with `MEILISEARCH_URL`, rebuild the Meilisearch index from
    /// PostgreSQL (docs/search.md), with progress bars.
    Reindex,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("parley-admin: {err}");
            return ExitCode::from(2);
        }
    };
    if std::env::var_os("RUST_LOG").is_some() {
        telemetry::init(settings.log_format);
    }
    match run(cli.command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("parley-admin: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    let ctx = AppContext::build(settings, None).await?;
    match command {
        Command::CreateUser {
            email,
            username,
            name,
            verified,
        } => {
            let request = RegisterRequest {
                email,
                name,
                username,
                password: password_from_stdin()?,
            };
            let account = admin::create_account(&ctx, request, verified).await?;
            println!(
                "created user {} <{}> @{} (email verified: {})",
                account.id, account.email, account.username, account.email_verified
            );
        }
        Command::VerifyEmail { user } => {
            let account = admin::find_account(&ctx, &user).await?;
            admin::verify_email(&ctx, account.id).await?;
            println!(
                "verified the email of user {} <{}>",
                account.id, account.email
            );
        }
        Command::ResetPassword { user } => {
            let account = admin::find_account(&ctx, &user).await?;
            let revoked = admin::set_password(&ctx, account.id, &password_from_stdin()?).await?;
            println!(
                "password set for user {} <{}>; {revoked} session(s) revoked",
                account.id, account.email
            );
        }
        Command::Deactivate { user } => {
            let account = admin::find_account(&ctx, &user).await?;
            let revoked = admin::deactivate(&ctx, account.id).await?;
            println!(
                "deactivated user {} <{}>; {revoked} session(s) revoked",
                account.id, account.email
            );
        }
        Command::Reactivate { user } => {
            let account = admin::find_account(&ctx, &user).await?;
            admin::reactivate(&ctx, account.id).await?;
            println!("reactivated user {} <{}>", account.id, account.email);
        }
        Command::Sessions { user } => {
            let account = admin::find_account(&ctx, &user).await?;
            let sessions = admin::sessions(&ctx, account.id).await?;
            println!(
                "user {} <{}>: {} active session(s)",
                account.id,
                account.email,
                sessions.len()
            );
            for s in sessions {
                println!(
                    "{}  device={}  ip={}  created={}  last_used={}  expires={}",
                    s.jti,
                    s.device.as_deref().unwrap_or("-"),
                    s.ip.as_deref().unwrap_or("-"),
                    s.created_at.to_rfc3339(),
                    s.last_used_at.to_rfc3339(),
                    s.expires_at.to_rfc3339()
                );
            }
        }
        Command::PurgeChat { chat_id, yes } => {
            anyhow::ensure!(
                yes,
                "purging deletes chat {chat_id} and every message of it for everyone; add --yes"
            );
            let purged = chat_delete::purge_chat(&ctx, chat_id).await?;
            println!("purged chat {chat_id}: {purged} message(s)");
        }
        Command::Jobs => {
            let conn = ctx
                .redis
                .clone()
                .ok_or_else(|| anyhow::anyhow!("jobs live in Redis: set REDIS_URL"))?;
            println!("kind  pending  retrying  running  failed  done");
            for kind in jobs::kinds() {
                let state = queue_state(conn.clone(), &ctx.settings.redis.prefix, kind).await?;
                println!(
                    "{kind}  {}  {}  {}  {}  {}",
                    state.pending, state.retrying, state.running, state.failed, state.done
                );
            }
        }
        Command::Reindex => reindex(&ctx).await?,
        Command::Retention => {
            let spinner = indicatif::ProgressBar::new_spinner().with_message("retention pass");
            spinner.enable_steady_tick(Duration::from_millis(100));
            let pass = retention::run_pass(&ctx).await?;
            spinner.finish_and_clear();
            let pruned = pass.pruned;
            println!(
                "retention pass done: chat events {}, sessions {}, email tokens {}, invite links {}, expired messages {}, unattached uploads {}, notifications {}",
                pruned.chat_events,
                pruned.sessions,
                pruned.email_tokens,
                pruned.invite_links,
                pass.expired_messages,
                pass.unattached_uploads,
                pass.notifications
            );
        }
    }
    Ok(())
}

/// Writes every message's search tokens again, batch by batch.
async fn reindex(ctx: &AppContext) -> anyhow::Result<()> {
    let total = search_index::reindex_total(ctx).await?;
    let bar = indicatif::ProgressBar::new(total.max(0) as u64).with_style(
        indicatif::ProgressStyle::with_template("reindex [{bar:40}] {pos}/{len} {per_sec}")?
            .progress_chars("=> "),
    );
    let mut after = 0;
    while let Some((last, count)) = search_index::reindex_batch(ctx, after).await? {
        bar.inc(count as u64);
        after = last;
    }
    bar.finish();
    let (users, chats) = search_index::reindex_names(ctx).await?;
    println!("search tokens written: {total} messages, {users} users, {chats} chats");
    if let Some(meili) = &ctx.meili {
        let bar =
            indicatif::ProgressBar::new(search_index::rebuild_total(ctx).await?.max(0) as u64)
                .with_style(
                    indicatif::ProgressStyle::with_template(
                        "meilisearch [{bar:40}] {pos}/{len} chats {per_sec}",
                    )?
                    .progress_chars("=> "),
                );
        search_index::rebuild_index(ctx, meili, || bar.inc(1)).await?;
        bar.finish();
        println!("Meilisearch index rebuilt");
    }
    Ok(())
}

/// The first line of standard input, without its line end.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

//! `parley-worker`: runs Parley's background jobs with apalis over Redis
//! (ARCHITECTURE §4). Jobs reload their rows and are idempotent.

use std::task::{Context, Poll};
use std::time::Duration;

use apalis::layers::retry::RetryPolicy;
use apalis::prelude::{
    Attempt, BackendExt, BoxDynError, Data, Monitor, PollSnapshot, PollStrategy, TaskId,
    WorkerBuilder, WorkerBuilderExt,
};
use parley_shared::domain::jobs::{Job, JobVisitor};
use parley_shared::infra::jobs;
use parley_shared::telemetry::metrics::{JOB_DURATION, JOBS};
use parley_shared::{AppContext, Settings};
use redis::aio::ConnectionManager;
use tower::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};

mod scrape;

/// How many times a failed job runs again.
const JOB_RETRIES: usize = 5;

/// How often an idle worker looks for new jobs.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Wakes an idle worker every `period` to look for jobs.
///
/// apalis 1.0's own `IntervalStrategy` replaces its timer when it fires
/// without polling the new one, so a worker that finds the queue empty at
/// that moment is never woken again (until its 30 s heartbeat): jobs then
/// wait. This strategy always leaves a registered timer behind.
pub struct EveryInterval {
    interval: tokio::time::Interval,
}

impl EveryInterval {
    /// A strategy that fires every `period`. Call inside the runtime.
    pub fn new(period: Duration) -> Self {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        EveryInterval { interval }
    }
}

impl PollStrategy for EveryInterval {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let mut fired = false;
        // Drain ready ticks; the last `poll_tick` returns Pending and so
        // registers the waker for the next one.
        while self.interval.poll_tick(cx).is_ready() {
            fired = true;
        }
        if fired {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}

/// Runs one job of kind `J` (see [`Job::run`]); an error makes apalis
/// retry it.
pub async fn run_job<J: Job>(
    job: J,
    ctx: Data<AppContext>,
    task_id: TaskId,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let key = job.idempotency_key();
    tracing::info!(job = J::NAME, task.id = %task_id, job.id = %key, attempt = attempt.current(), "job started");
    let started = std::time::Instant::now();
    let result = job.run(&ctx).await;
    let outcome = if result.is_ok() {
        "succeeded"
    } else {
        "failed"
    };
    metrics::counter!(JOBS, "kind" => J::NAME, "result" => outcome).increment(1);
    metrics::histogram!(JOB_DURATION, "kind" => J::NAME).record(started.elapsed().as_secs_f64());
    result.map_err(|err| {
        tracing::warn!(job = J::NAME, job.id = %key, error = format!("{err:#}"), "job failed; will retry");
        BoxDynError::from(err)
    })
}

/// Registers one apalis worker per kind of job with the monitor.
struct Register {
    monitor: Option<Monitor>,
    ctx: AppContext,
    conn: ConnectionManager,
}

impl JobVisitor for Register {
    fn visit<J: Job>(&mut self) {
        let storage =
            jobs::storage::<J>(self.conn.clone(), &self.ctx.settings.redis.prefix, J::NAME);
        let ctx = self.ctx.clone();
        tracing::info!(
            queue = jobs::queue_name(&ctx.settings.redis.prefix, J::NAME),
            "worker registered"
        );
        let monitor = self.monitor.take().unwrap_or_default();
        self.monitor = Some(monitor.register(move |restarts| {
            // A unique name per process and start: apalis refuses a name
            // that reported in recently.
            let name = format!(
                "parley-{}-{}-{}",
                J::NAME,
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            );
            if restarts > 0 {
                tracing::warn!(restarts, job = J::NAME, "worker restarted");
            }
            // A failed job runs again after a growing, jittered pause (it is
            // idempotent); past the retries it stays failed in Redis, and a
            // bulk job is then taken again by the sweep.
            let retry = RetryPolicy::retries(JOB_RETRIES)
                .with_backoff(ExponentialBackoffMaker::default().make_backoff());
            WorkerBuilder::new(name)
                .backend(
                    storage
                        .clone()
                        .poll_with_strategy(EveryInterval::new(POLL_INTERVAL)),
                )
                .data(ctx.clone())
                .concurrency(4)
                .retry(retry)
                .build(run_job::<J>)
        }));
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// Runs every worker until `shutdown` resolves.
///
/// Errors: Redis is not configured or unreachable.
pub async fn run_until<F>(settings: Settings, shutdown: F) -> anyhow::Result<()>
where
    F: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    parley_shared::telemetry::metrics::recorder();
    let ctx = AppContext::build(settings, None).await?;
    let conn = ctx
        .redis
        .clone()
        .ok_or_else(|| anyhow::anyhow!("parley-worker needs REDIS_URL (jobs live in Redis)"))?;
    tracing::info!("parley-worker started");
    let metrics_server = scrape::serve(ctx.clone());
    let retention = tokio::spawn(run_retention(ctx.clone()));
    let relay = tokio::spawn(run_outbox_relay(ctx.clone()));
    let sweep = tokio::spawn(run_job_sweep(ctx.clone()));
    let fan_out = tokio::spawn(parley_shared::domain::notifications::run_fan_out(
        ctx.clone(),
        POLL_INTERVAL,
    ));
    let indexing = tokio::spawn(parley_shared::domain::search_index::run_indexing(
        ctx.clone(),
    ));
    let mut register = Register {
        monitor: Some(Monitor::new()),
        ctx: ctx.clone(),
        conn,
    };
    parley_shared::domain::jobs::all(&mut register);
    register
        .monitor
        .unwrap_or_default()
        // A Redis error ends a worker; start it again rather than stop working.
        .should_restart(|_, _| true)
        .shutdown_timeout(Duration::from_secs(10))
        .run_with_signal(shutdown)
        .await?;
    retention.abort();
    relay.abort();
    sweep.abort();
    fan_out.abort();
    indexing.abort();
    if let Some(server) = metrics_server {
        server.stop(true).await;
    }
    tracing::info!("parley-worker stopped");
    Ok(())
}

/// Outbox rows moved to the queue per pass.
const RELAY_BATCH: i64 = 500;

/// Moves staged jobs from the outbox to the Redis queue every
/// [`POLL_INTERVAL`] (at once again while a pass finds a full batch). A
/// failed pass (Redis or the database away) is retried every second.
async fn run_outbox_relay(ctx: AppContext) {
    let Some(queue) = ctx.jobs.clone() else {
        return;
    };
    let mut healthy = true;
    loop {
        let result = async {
            let mut conn = ctx.db.get().await?;
            jobs::relay_outbox(&mut conn, &queue, RELAY_BATCH).await
        }
        .await;
        match result {
            Ok(queued) => {
                if !healthy {
                    tracing::info!("outbox relay recovered");
                    healthy = true;
                }
                if queued > 0 {
                    tracing::debug!(queued, "outbox jobs queued");
                }
                if queued < RELAY_BATCH as usize {
                    tokio::time::sleep(POLL_INTERVAL).await;
                }
            }
            Err(err) => {
                if healthy {
                    tracing::warn!(error = format!("{err:#}"), "outbox relay failed; retrying");
                    healthy = false;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Queues again, every `JOB_SWEEP_INTERVAL_SECS`, the bulk jobs whose
/// worker died mid-run (their lease ran out) or that were never picked up
/// (ARCHITECTURE §4: work that must not be lost is recoverable from
/// PostgreSQL). A job queued twice runs once: runs take a lease.
async fn run_job_sweep(ctx: AppContext) {
    let period = Duration::from_secs(ctx.settings.jobs.sweep_interval_secs);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match parley_shared::domain::bulk::sweep(&ctx).await {
            Ok(0) => {}
            Ok(requeued) => tracing::warn!(requeued, "stale bulk jobs queued again"),
            Err(err) => tracing::warn!(error = format!("{err:#}"), "job sweep failed"),
        }
    }
}

/// Prunes old rows now and then every `RETENTION_INTERVAL_SECS`. Several
/// workers may run it at once; deleting is idempotent.
async fn run_retention(ctx: AppContext) {
    let mut tick = tokio::time::interval(Duration::from_secs(ctx.settings.retention.interval_secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match parley_shared::domain::retention::run_pass(&ctx).await {
            Ok(pass) => tracing::info!(?pass, "retention pass done"),
            Err(err) => tracing::warn!(error = format!("{err:#}"), "retention pass failed"),
        }
    }
}

/// Runs the worker until SIGINT / SIGTERM: what `parley-worker` does.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    run_until(settings, shutdown_signal()).await
}

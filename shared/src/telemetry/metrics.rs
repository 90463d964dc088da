//! Prometheus metrics (issue 12): the names every process records under,
//! and the process's recorder, which `GET /metrics` renders in the text
//! exposition format. Recording goes through the `metrics` macros
//! (`metrics::counter!(FRAMES_SENT).increment(1)`); a process that never
//! installs the recorder records into nothing.
//!
//! Durations are in seconds, as Prometheus names them (`_seconds`), with
//! histogram buckets from 1 ms to 10 s.

use std::sync::OnceLock;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::{ExposeSecret, SecretString};

/// Counter, labels `method`, `route` (the matched pattern, `unmatched` for
/// none), `status`.
pub const HTTP_REQUESTS: &str = "parley_http_requests_total";
/// Histogram (seconds), labels `method`, `route`: until the response head
/// (an upgrade or a stream counts until it starts).
pub const HTTP_DURATION: &str = "parley_http_request_duration_seconds";
/// Gauge, label `transport` (`websocket`, `sse`): realtime connections open
/// on this replica, the dialects' included.
pub const REALTIME_CONNECTIONS: &str = "parley_realtime_connections";
/// Counter: frames written to realtime connections.
pub const FRAMES_SENT: &str = "parley_frames_sent_total";
/// Counter: frames a connection's full queue could not take (the
/// connection is then closed as too slow and resumes from the log).
pub const FRAMES_DROPPED: &str = "parley_frames_dropped_total";
/// Counter: connections closed because they stopped reading (1013).
pub const SLOW_CLIENT_CLOSES: &str = "parley_slow_client_closes_total";
/// Counter, label `result` (`ok`, `failed`): events published on the bus.
pub const BUS_PUBLISHED: &str = "parley_bus_published_total";
/// Counter: events this replica received from the bus.
pub const BUS_RECEIVED: &str = "parley_bus_received_total";
/// Counter: times the bus queue overflowed (every socket then catches up
/// from the log).
pub const BUS_OVERFLOWS: &str = "parley_bus_overflows_total";
/// Histogram: seconds from a bus event's publish to its receipt by a
/// replica (by the two hosts' clocks: across hosts their difference adds).
pub const BUS_LAG: &str = "parley_bus_lag_seconds";
/// Counter: gaps in a chat's live events that the replica read from the
/// log (once for all its sockets).
pub const GAP_FILLS: &str = "parley_gap_fills_total";
/// Counter: events read from the log to fill those gaps.
pub const GAP_FILLED_EVENTS: &str = "parley_gap_filled_events_total";
/// Histogram: seconds one such gap took to read from the log.
pub const GAP_FILL_DURATION: &str = "parley_gap_fill_duration_seconds";
/// Histogram: sends written by one group-commit transaction
/// ([`crate::domain::group_commit`]).
pub const SEND_BATCH_SIZE: &str = "parley_send_batch_size";
/// Counter, label `limit` (`message`, `login`, `register`, `refresh`,
/// `reset`, `duplicate`): requests refused with 429.
pub const RATE_LIMIT_REFUSALS: &str = "parley_rate_limit_refusals_total";
/// Gauge, label `state` (`in_use`, `idle`): PostgreSQL pool connections,
/// read at each scrape.
pub const DB_POOL_CONNECTIONS: &str = "parley_db_pool_connections";
/// Gauge: tasks waiting for a PostgreSQL pool connection, read at each
/// scrape.
pub const DB_POOL_WAITING: &str = "parley_db_pool_waiting";
/// Gauge, label `state` (`creating`, `active`, `idle`, `closing`): the
/// hub's chats by room state (seed 003 §4), read at each scrape.
pub const HUB_ROOMS: &str = "parley_hub_rooms";

/// Counter: rooms this replica closed after their idle timeout (seed 003
/// §4), read at each scrape.
pub const HUB_ROOMS_CLOSED: &str = "parley_hub_rooms_closed_total";

/// Counter, labels `kind` (the job's name), `result` (`succeeded`,
/// `failed`): job runs in the worker (a failed run is retried).
pub const JOBS: &str = "parley_jobs_total";
/// Histogram (seconds), label `kind`: how long a job run took.
pub const JOB_DURATION: &str = "parley_job_duration_seconds";
/// Gauge, labels `kind`, `state` (`pending`, `retrying`, `running`,
/// `failed`, `done`):
/// the jobs in each queue, read at each scrape of the worker.
pub const JOB_QUEUE: &str = "parley_job_queue";

/// Whether a scrape may read the metrics: anyone when `expected` (the
/// `METRICS_TOKEN`) is unset, else a request whose bearer token is it
/// (compared in time that does not depend on where they differ).
pub fn scrape_allowed(expected: Option<&SecretString>, given: Option<&str>) -> bool {
    let Some(expected) = expected else {
        return true;
    };
    let (given, expected) = (
        given.unwrap_or_default().as_bytes(),
        expected.expose_secret().as_bytes(),
    );
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Sets the pool gauges from `status` (call at each scrape).
pub fn record_pool(status: deadpool::Status) {
    let in_use = status.size.saturating_sub(status.available);
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(in_use as f64);
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(status.available as f64);
    metrics::gauge!(DB_POOL_WAITING).set(status.waiting as f64);
}

/// A gauge counted up while this value lives (an open connection), and
/// down when it is dropped, however its owner ends.
pub struct Held(metrics::Gauge);

impl Held {
    /// Counts one up on `gauge`.
    pub fn new(gauge: metrics::Gauge) -> Held {
        gauge.increment(1.0);
        Held(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Histogram buckets for `_seconds` metrics: 1 ms to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of [`SEND_BATCH_SIZE`]: 1 to the largest batch (64).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder: installed (with every metric described) on the
/// first call; `None` when another recorder was installed first. Tests
/// that start several replicas in one process share it.
pub fn recorder() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full(SEND_BATCH_SIZE.into()),
                        BATCH_BUCKETS,
                    )
                })
                .and_then(|builder| builder.install_recorder());
            match handle {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// The metrics in Prometheus's text format (`""` without a recorder).
pub fn render() -> String {
    recorder().map_or_else(String::new, |handle| {
        handle.run_upkeep();
        handle.render()
    })
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by route."
    );
    describe_gauge!(
        REALTIME_CONNECTIONS,
        "Open WebSocket connections and SSE streams."
    );
    describe_counter!(FRAMES_SENT, "Frames written to realtime connections.");
    describe_counter!(
        FRAMES_DROPPED,
        "Frames a full connection queue could not take."
    );
    describe_counter!(
        SLOW_CLIENT_CLOSES,
        "Realtime connections closed for not reading (1013)."
    );
    describe_counter!(BUS_PUBLISHED, "Events published on the bus, by result.");
    describe_counter!(BUS_RECEIVED, "Events received from the bus.");
    describe_counter!(BUS_OVERFLOWS, "Times the bus queue overflowed.");
    describe_histogram!(
        BUS_LAG,
        Unit::Seconds,
        "Time from a bus event's publish to its receipt (Redis bus)."
    );
    describe_counter!(GAP_FILLS, "Gaps in live chat events read from the log.");
    describe_histogram!(
        GAP_FILL_DURATION,
        Unit::Seconds,
        "Time a gap took to read from the log."
    );
    describe_counter!(GAP_FILLED_EVENTS, "Events read from the log to fill gaps.");
    describe_histogram!(
        SEND_BATCH_SIZE,
        "Sends written by one group-commit transaction."
    );
    describe_counter!(
        RATE_LIMIT_REFUSALS,
        "Requests refused by a rate limit, by limit."
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "PostgreSQL pool connections, in use or idle."
    );
    describe_gauge!(
        DB_POOL_WAITING,
        "Tasks waiting for a PostgreSQL pool connection."
    );
    describe_gauge!(HUB_ROOMS, "Chats in the hub, by room state.");
    describe_counter!(HUB_ROOMS_CLOSED, "Rooms closed after their idle timeout.");
    describe_counter!(JOBS, "Job runs, by kind and result.");
    describe_histogram!(JOB_DURATION, Unit::Seconds, "Time a job run took, by kind.");
    describe_gauge!(JOB_QUEUE, "Jobs in each queue, by kind and state.");
}

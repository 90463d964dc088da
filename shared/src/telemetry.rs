//! Logs: `tracing` to stdout, pretty, JSON or seed 003's room lines
//! (`LOG_FORMAT`), filtered by `RUST_LOG` (default `info`); and the
//! Prometheus metrics ([`metrics`]).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;

pub mod metrics;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second call (tests) finds a subscriber already set; that is fine.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Room => builder.event_format(RoomLine).try_init(),
    };
}

/// Seed 003 §7's line: `[timestamp] [LEVEL] [PID:n] [userId] [roomId] -
/// message`, where the user is the event's `user.id` field and the room its
/// `chat.id`, each only when the event has it; the event's other fields
/// follow the message as `key=value` (an error's cause chain among them).
pub struct RoomLine;

impl<S, N> FormatEvent<S, N> for RoomLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = RoomFields::default();
        event.record(&mut fields);
        let line = room_line(
            &chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
            event.metadata().level().as_str(),
            std::process::id(),
            &fields,
        );
        writeln!(writer, "{line}")
    }
}

/// The fields of one event, as [`RoomLine`] writes them.
#[derive(Debug, Default)]
struct RoomFields {
    message: String,
    user: Option<String>,
    room: Option<String>,
    rest: String,
}

impl Visit for RoomFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, value.to_owned());
    }
}

impl RoomFields {
    fn record(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "user.id" => self.user = Some(value),
            "chat.id" => self.room = Some(value),
            name => {
                let _ = write!(self.rest, " {name}={value}");
            }
        }
    }
}

fn room_line(timestamp: &str, level: &str, pid: u32, fields: &RoomFields) -> String {
    let mut line = format!("[{timestamp}] [{level}] [PID:{pid}]");
    for part in [&fields.user, &fields.room].into_iter().flatten() {
        let _ = write!(line, " [{part}]");
    }
    let _ = write!(line, " - {}{}", fields.message, fields.rest);
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_lines_are_the_documents_format() {
        let fields = RoomFields {
            message: "Room created successfully.".into(),
            user: Some("123".into()),
            room: Some("789".into()),
            rest: String::new(),
        };
        assert_eq!(
            room_line("2025-07-15T14:32:10.245Z", "INFO", 2831, &fields),
            "[2025-07-15T14:32:10.245Z] [INFO] [PID:2831] [123] [789] - Room created successfully."
        );
        // Only what applies: no user, no room, other fields after.
        let fields = RoomFields {
            message: "unsubscribe failed".into(),
            rest: " error=connection refused".into(),
            ..RoomFields::default()
        };
        assert_eq!(
            room_line("2025-07-15T14:35:21.123Z", "WARN", 7, &fields),
            "[2025-07-15T14:35:21.123Z] [WARN] [PID:7] - unsubscribe failed error=connection refused"
        );
    }
}

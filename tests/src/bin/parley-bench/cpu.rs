//! CPU time of the stack's processes over a measured window, read from
//! `/proc` (issue 13): every process whose name is one of
//! [`STACK`] or the load tool's own, its user + system time, plus the time
//! of its children that exited (so PostgreSQL's backends that ended inside
//! the window count, through the postmaster's `cutime` / `cstime`). Each
//! process is compared with itself: one that exits inside the window (a
//! previous run's replica still shutting down) neither counts nor hides
//! the others' time, as a sum per name compared across the window did.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The processes of a Parley stack, by their `/proc/<pid>/comm` names.
pub const STACK: [&str; 4] = ["parley-api", "parley-worker", "postgres", "redis-server"];
/// The load tool itself: reported, never counted in the stack's figures.
pub const LOAD_TOOL: &str = "parley-bench";

/// CPU time so far, in clock ticks, per process: `(name, pid)`.
#[derive(Debug, Clone, Default)]
pub struct CpuSample(BTreeMap<(String, u32), u64>);

/// Clock ticks per second (`getconf CLK_TCK`; 100 where it cannot be read).
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}

/// Reads every process of [`STACK`] and [`LOAD_TOOL`] now.
pub fn sample() -> CpuSample {
    let mut totals = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return CpuSample(totals);
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        let comm = comm.trim();
        if !STACK.contains(&comm) && comm != LOAD_TOOL {
            continue;
        }
        if let Some(ticks) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| cpu_ticks(&stat))
        {
            totals.insert((comm.to_owned(), pid), ticks);
        }
    }
    CpuSample(totals)
}

/// utime + stime + cutime + cstime of one `/proc/<pid>/stat` line: fields
/// 14 to 17, counted after the `)` that ends the command name (which may
/// hold spaces).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name come state (field 3), ppid (4), …: utime is field 14.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<i64>().ok();
    let total = field(14)? + field(15)? + field(16)? + field(17)?;
    u64::try_from(total).ok()
}

/// The CPU each process name used between `before` and `after`, in µs, and
/// per unit of work: `{"cpu_us": {name: µs}, "cpu_us_per_send": {name: µs,
/// "stack": µs}, "cpu_us_per_delivery": {"parley-api": µs}}`.
pub fn report(before: &CpuSample, after: &CpuSample, sends: u64, deliveries: u64) -> Value {
    let us_per_tick = 1_000_000.0 / ticks_per_second() as f64;
    // A process that started inside the window counts from zero.
    let mut used: BTreeMap<&str, f64> = BTreeMap::new();
    for ((name, pid), ticks) in &after.0 {
        let earlier = before.0.get(&(name.clone(), *pid)).copied().unwrap_or(0);
        *used.entry(name.as_str()).or_insert(0.0) +=
            ticks.saturating_sub(earlier) as f64 * us_per_tick;
    }
    let stack: f64 = used
        .iter()
        .filter(|(name, _)| STACK.contains(name))
        .map(|(_, us)| us)
        .sum();
    let per = |us: f64, n: u64| {
        if n == 0 {
            0.0
        } else {
            (us / n as f64 * 10.0).round() / 10.0
        }
    };
    let mut per_send: BTreeMap<&str, f64> = used
        .iter()
        .map(|(name, us)| (*name, per(*us, sends)))
        .collect();
    per_send.insert("stack", per(stack, sends));
    let api = used.get("parley-api").copied().unwrap_or(0.0);
    json!({
        "cpu_us": used.iter().map(|(name, us)| (*name, us.round())).collect::<BTreeMap<_, _>>(),
        "cpu_us_per_send": per_send,
        "cpu_us_per_delivery": {"parley-api": per(api, deliveries)},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(entries: &[(&str, u32, u64)]) -> CpuSample {
        CpuSample(
            entries
                .iter()
                .map(|(name, pid, ticks)| (((*name).to_owned(), *pid), *ticks))
                .collect(),
        )
    }

    #[test]
    fn a_process_that_exits_in_the_window_does_not_hide_the_others() {
        let before = at(&[("parley-api", 10, 5_000), ("parley-api", 20, 100)]);
        let after = at(&[("parley-api", 20, 400), ("parley-api", 30, 50)]);
        let report = report(&before, &after, 10, 0);
        let ticks = (400 - 100) + 50;
        let expected = (ticks as f64 * 1_000_000.0 / ticks_per_second() as f64).round();
        assert_eq!(report["cpu_us"]["parley-api"], expected);
    }

    #[test]
    fn reads_the_four_times_after_a_name_with_spaces() {
        let stat =
            "1234 (postgres: a b) S 1 1234 1234 0 -1 4194560 100 0 0 0 70 30 5 7 20 0 1 0 100 0 0";
        assert_eq!(cpu_ticks(stat), Some(70 + 30 + 5 + 7));
    }
}

//! What the kernel says about a process: resident memory and CPU time, from `/proc`.

use serde::Serialize;

/// Resident memory of a process, in KiB, as `/proc/PID/status` reports it.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Memory {
    /// Peak resident set size (`VmHWM`).
    pub peak_kib: u64,
    /// Current resident set size (`VmRSS`).
    pub current_kib: u64,
    /// Of the current: anonymous memory (heap, stacks: what the process allocated).
    pub anon_kib: u64,
    /// Of the current: file-backed pages (mostly the executable's own code).
    pub file_kib: u64,
}

pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|line| line.starts_with(name))
            .ok_or_else(|| anyhow::anyhow!("no {name} in /proc/{pid}/status"))?;
        let value = line[name.len()..].trim().trim_end_matches("kB").trim().parse::<u64>()?;
        Ok(value)
    };
    Ok(Memory {
        peak_kib: field("VmHWM:")?,
        current_kib: field("VmRSS:")?,
        anon_kib: field("RssAnon:")?,
        file_kib: field("RssFile:")?,
    })
}

/// User plus system CPU time a process has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name is in parentheses and may hold spaces; fields are counted after it.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).ok_or_else(|| anyhow::anyhow!("malformed /proc/{pid}/stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After ")": state is field 3 of the full line, so utime (14) and stime (15) are at 11, 12.
    let utime: u64 = fields.get(11).ok_or_else(|| anyhow::anyhow!("no utime"))?.parse()?;
    let stime: u64 = fields.get(12).ok_or_else(|| anyhow::anyhow!("no stime"))?.parse()?;
    // USER_HZ is 100 on every Linux architecture this runs on.
    Ok((utime + stime) as f64 / 100.0)
}

pub fn own_cpu_seconds() -> f64 {
    cpu_seconds(std::process::id()).unwrap_or(0.0)
}

/// CPU time the whole machine has spent busy (all processes, all cores), in seconds.
pub fn machine_busy_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0.0;
    };
    let Some(line) = stat.lines().find(|line| line.starts_with("cpu ")) else {
        return 0.0;
    };
    let fields: Vec<u64> = line.split_whitespace().skip(1).filter_map(|field| field.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal: everything but idle and iowait.
    let busy: u64 = [0usize, 1, 2, 5, 6, 7].iter().filter_map(|&index| fields.get(index)).sum();
    busy as f64 / 100.0
}

/// Measures, over `window`, how many cores everything except this process keeps busy.
pub async fn others_busy_cores(window: std::time::Duration) -> f64 {
    let machine = machine_busy_seconds();
    let own = own_cpu_seconds();
    tokio::time::sleep(window).await;
    let others = (machine_busy_seconds() - machine) - (own_cpu_seconds() - own);
    (others / window.as_secs_f64()).max(0.0)
}

/// A meter of the CPU used by processes other than the harness and the server under test.
pub struct OthersMeter {
    machine: f64,
    own: f64,
    server: f64,
    pid: u32,
    started: std::time::Instant,
}

impl OthersMeter {
    pub fn start(server_pid: u32) -> OthersMeter {
        OthersMeter {
            machine: machine_busy_seconds(),
            own: own_cpu_seconds(),
            server: cpu_seconds(server_pid).unwrap_or(0.0),
            pid: server_pid,
            started: std::time::Instant::now(),
        }
    }

    /// Cores used by other processes since `start`.
    pub fn cores(&self) -> f64 {
        let machine = machine_busy_seconds() - self.machine;
        let own = own_cpu_seconds() - self.own;
        let server = cpu_seconds(self.pid).unwrap_or(self.server) - self.server;
        ((machine - own - server) / self.started.elapsed().as_secs_f64().max(1e-9)).max(0.0)
    }
}

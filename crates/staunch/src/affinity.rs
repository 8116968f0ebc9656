//! Which CPUs `staunch serve --cpus` runs on, set once in `main` before any thread starts, so
//! every thread (the runtime's workers, one per SQLite connection) inherits it.
//!
//! Why one would: a write is a conversation between the engine's task and the SQLite
//! connection's thread, one message per statement. Each message wakes the other thread, and on
//! a small virtual machine waking a thread on another core costs far more than switching to it
//! on the same one. On the 2-core machine of `docs/benchmarks.md`, `--cpus 1` roughly doubled
//! single-alert ingest. It is off by default: on a larger machine, or one shared with other
//! work, the operator knows better which cores to give.

/// The CPUs of `--cpus`, in order, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CpuList(pub Vec<usize>);

/// `--cpus` for clap: [`parse_cpu_list`].
pub(crate) fn parse_cpus(text: &str) -> Result<CpuList, String> {
    parse_cpu_list(text).map(CpuList)
}

/// Parses a CPU list as Linux prints it (`0`, `0,2`, `0-3`, `0-1,4`).
pub(crate) fn parse_cpu_list(text: &str) -> Result<Vec<usize>, String> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim) {
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (first, last),
            None => (part, part),
        };
        let number = |value: &str| value.trim().parse::<usize>().map_err(|_| format!("{part:?} is not a CPU number or range"));
        let (first, last) = (number(first)?, number(last)?);
        if first > last {
            return Err(format!("{part:?} is a range that ends before it starts"));
        }
        if last >= MAX_CPUS {
            return Err(format!("CPU {last} is beyond the {MAX_CPUS} this build can name"));
        }
        cpus.extend(first..=last);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// CPUs a `cpu_set_t` holds.
const MAX_CPUS: usize = 1024;

/// Restricts this process (and every thread it starts afterwards) to `cpus`.
#[cfg(target_os = "linux")]
pub(crate) fn run_on(cpus: &[usize]) -> Result<(), String> {
    debug_assert!(cpus.iter().all(|cpu| *cpu < MAX_CPUS));
    // SAFETY: `set` is a plain bit set, zeroed, then filled with CPU numbers below its size;
    // `sched_setaffinity(0, ...)` changes only the calling thread, the only one there is yet.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result != 0 {
        let error = std::io::Error::last_os_error();
        return Err(format!("cannot run on CPUs {cpus:?}: {error}"));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn run_on(_cpus: &[usize]) -> Result<(), String> {
    Err("--cpus is supported on Linux only".to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_list;

    #[test]
    fn cpu_lists_parse_as_linux_prints_them() {
        let check = |text: &str, expected: Result<Vec<usize>, &str>| {
            assert_eq!(parse_cpu_list(text), expected.map_err(str::to_string), "{text}");
        };
        check("1", Ok(vec![1]));
        check("0,2", Ok(vec![0, 2]));
        check("0-3", Ok(vec![0, 1, 2, 3]));
        check("4, 0-1,1", Ok(vec![0, 1, 4]));
        check("", Err("\"\" is not a CPU number or range"));
        check("one", Err("\"one\" is not a CPU number or range"));
        check("3-1", Err("\"3-1\" is a range that ends before it starts"));
        check("-1", Err("\"-1\" is not a CPU number or range"));
        check("2000", Err("CPU 2000 is beyond the 1024 this build can name"));
    }
}

//! Figures of the process and the machine read from /proc (Linux; zero elsewhere): resident
//! memory, CPU time, total memory.

/// Linux reports CPU times in /proc in units of USER_HZ, which is 100 on every architecture it
/// exposes to user space.
const TICKS_PER_SECOND: f64 = 100.0;

/// Resident set size of this process in bytes.
pub fn resident_memory() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| {
            statm
                .split_whitespace()
                .nth(1)
                .and_then(|pages| pages.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// CPU time used, in seconds: this process in user and system mode, and its waited-for children.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct CpuTimes {
    pub user: f64,
    pub system: f64,
    pub children_user: f64,
    pub children_system: f64,
}

/// This process's CPU times (`utime`, `stime`, `cutime`, `cstime` of /proc/self/stat).
pub fn cpu_times() -> CpuTimes {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| parse_stat(&stat))
        .unwrap_or_default()
}

fn parse_stat(stat: &str) -> Option<CpuTimes> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime is field 14.
    let field = |number: usize| -> Option<f64> {
        fields
            .get(number - 3)?
            .parse::<u64>()
            .ok()
            .map(|ticks| ticks as f64 / TICKS_PER_SECOND)
    };
    Some(CpuTimes {
        user: field(14)?,
        system: field(15)?,
        children_user: field(16)?,
        children_system: field(17)?,
    })
}

/// Physical memory of the machine in bytes (`MemTotal` of /proc/meminfo).
pub fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|meminfo| {
            meminfo.lines().find_map(|line| {
                let kib = line.strip_prefix("MemTotal:")?.trim().strip_suffix("kB")?;
                kib.trim().parse::<u64>().ok()
            })
        })
        .map_or(0, |kib| kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_times_come_from_the_stat_fields() {
        let stat = "1234 (ringcache node) S 1 2 3 4 5 6 7 8 9 10 250 50 7 3 20 0 9 0";
        assert_eq!(
            parse_stat(stat),
            Some(CpuTimes {
                user: 2.5,
                system: 0.5,
                children_user: 0.07,
                children_system: 0.03,
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_has_figures_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_memory() > 0);
            assert!(total_system_memory() > 0);
        }
    }
}

//! Figures about the running process, read from /proc: the server reports them in
//! `stats`, and `chit bench` measures its own load with them. Elsewhere than Linux
//! there is no /proc, and each figure is 0.

/// CPU time (user + system) this process has used so far, in ms.
#[cfg(target_os = "linux")]
pub fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    cpu_ms_of(&stat)
}

#[cfg(not(target_os = "linux"))]
pub fn cpu_ms() -> u64 {
    0
}

/// From a `/proc/PID/stat` line: utime + stime, in ms. The kernel reports them in
/// USER_HZ ticks, which is 100 a second on every architecture Linux runs on (whatever
/// the kernel's own tick rate).
fn cpu_ms_of(stat: &str) -> u64 {
    // Fields after the command name, which may itself hold spaces: utime and stime are
    // the 12th and 13th.
    let Some((_, fields)) = stat.rsplit_once(") ") else {
        return 0;
    };
    let ticks: u64 = fields
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    ticks * 10
}

/// Resident memory of this process, in bytes: `VmRSS` from /proc/self/status, which the
/// kernel gives in kB whatever its page size (pages × 4096 would be wrong four times
/// over on a 16 KiB-page kernel, such as a Raspberry Pi 5's).
#[cfg(target_os = "linux")]
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    rss_bytes_of(&status)
}

#[cfg(not(target_os = "linux"))]
pub fn rss_bytes() -> u64 {
    0
}

/// From a `/proc/PID/status` text: the `VmRSS:   1234 kB` line, in bytes.
fn rss_bytes_of(status: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// File descriptors this process holds.
#[cfg(target_os = "linux")]
pub fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| dir.count() as u64)
        .unwrap_or(0)
}

#[cfg(not(target_os = "linux"))]
pub fn open_fds() -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_the_kernels_own_units() {
        let status =
            "Name:\tchit-server\nVmPeak:\t  90000 kB\nVmRSS:\t    5432 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(rss_bytes_of(status), 5432 * 1024);
        assert_eq!(rss_bytes_of("Name:\tx\n"), 0);
        let stat = "42 (chit server) S 1 42 42 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 3 0";
        assert_eq!(cpu_ms_of(stat), (250 + 130) * 10);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn resident_memory_grows_by_what_is_touched() {
        let before = rss_bytes();
        let touched = vec![1u8; 64 << 20];
        let after = rss_bytes();
        assert!(std::hint::black_box(&touched)[12345] == 1);
        let grown = after.saturating_sub(before);
        assert!(
            (60 << 20..80 << 20).contains(&grown),
            "64 MiB touched, resident grew by {grown} bytes ({before} -> {after})"
        );
        assert!(open_fds() >= 3);
    }
}

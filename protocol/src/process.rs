//! Figures about the running process, read from /proc: the server reports them in
//! `stats`, and `chit bench` measures its own load with them.

/// CPU time (user + system) this process has used so far, in ms (0 where there is no
/// /proc).
pub fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which may itself hold spaces: utime and stime are
    // the 12th and 13th, in clock ticks of 1/100 s.
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

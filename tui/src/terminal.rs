//! The terminal: raw mode and the alternate screen, restored on exit and on panic;
//! stderr sent to the log file for the display's lifetime, so nothing (ALSA's own
//! messages included) ever writes over the screen; logging to that file.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use ratatui::DefaultTerminal;

/// Where a display logs: `$XDG_STATE_HOME/chit/NAME.log` or the data directory.
pub fn log_path(name: &str) -> PathBuf {
    let dirs = directories::ProjectDirs::from("", "", "chit");
    let dir = dirs
        .as_ref()
        .map(|d| d.state_dir().unwrap_or(d.data_dir()).to_path_buf())
        .unwrap_or_else(std::env::temp_dir);
    dir.join(format!("{name}.log"))
}

/// Logs to `path` (made if missing) at `CHIT_LOG` or `info`.
pub fn init_logging(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let writer = file.try_clone()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHIT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(writer))
        .init();
    Ok(file)
}

/// Whether colour is off (`NO_COLOR` set to anything non-empty).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// The screen in raw mode; dropping it (or a panic) puts the terminal back.
pub struct Screen {
    pub terminal: DefaultTerminal,
    saved_stderr: Option<i32>,
}

impl Screen {
    /// Enters the alternate screen. Stderr goes to `log` until the screen is dropped.
    pub fn enter(log: &std::fs::File) -> std::io::Result<Screen> {
        let saved_stderr = redirect_stderr(log);
        let hook_saved = saved_stderr;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            ratatui::restore();
            if let Some(fd) = hook_saved {
                restore_stderr(fd);
            }
            previous(info);
        }));
        let terminal = ratatui::try_init()?;
        Ok(Screen {
            terminal,
            saved_stderr,
        })
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        ratatui::restore();
        if let Some(fd) = self.saved_stderr.take() {
            restore_stderr(fd);
        }
    }
}

/// Points fd 2 at `log`; returns a copy of the old stderr to put back later.
#[allow(unsafe_code)] // dup/dup2 on descriptors this process owns; no memory is touched
fn redirect_stderr(log: &std::fs::File) -> Option<i32> {
    use std::os::fd::AsRawFd;
    // SAFETY: dup and dup2 only duplicate file descriptors; both fds are open here.
    unsafe {
        let saved = libc::dup(2);
        if saved < 0 {
            return None;
        }
        if libc::dup2(log.as_raw_fd(), 2) < 0 {
            libc::close(saved);
            return None;
        }
        Some(saved)
    }
}

#[allow(unsafe_code)] // see redirect_stderr
fn restore_stderr(saved: i32) {
    // SAFETY: `saved` came from dup in redirect_stderr and is still open.
    unsafe {
        libc::dup2(saved, 2);
    }
}

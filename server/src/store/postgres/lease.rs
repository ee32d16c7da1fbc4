//! A lease that one node at a time holds among the nodes sharing a database, for work
//! that must be done once and not once per node (delivering webhooks): a session-level
//! advisory lock, taken with `pg_try_advisory_lock` on a connection of its own. The lock
//! is the session's, so it ends when the connection does: a node that stops, dies or
//! loses its connection frees it, and another node, which tries again every
//! [`TRY_EVERY`], takes it over within seconds.

use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::watch;

/// How often a node without the lease tries to take it, and a node with it checks that
/// its connection (and so the lock) is still there.
pub const TRY_EVERY: Duration = Duration::from_secs(1);

/// The advisory lock key of the lease for delivering webhooks ("chit" in ASCII; it fits
/// in 32 bits, so `pg_locks` shows it as `objid`).
pub const WEBHOOKS: i64 = 0x6368_6974;

/// Whether this node holds a lease; the lock is let go when this is dropped.
pub struct Lease {
    held: watch::Receiver<bool>,
    /// Dropped with the lease: the thread that holds the lock then closes its session.
    _stop: mpsc::Sender<()>,
}

impl Lease {
    /// Tries to take lock `key` on a connection of its own (to the database `settings`
    /// name), now and every [`TRY_EVERY`] until it has it; keeps it while the
    /// connection lasts. `what` names the lease in the log.
    pub(crate) fn take(
        settings: ::postgres::Config,
        key: i64,
        what: &'static str,
    ) -> std::io::Result<Lease> {
        let (held_tx, held) = watch::channel(false);
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("chit-pg-lease".into())
            .spawn(move || hold(settings, key, what, held_tx, stopped))?;
        Ok(Lease { held, _stop: stop })
    }

    pub fn held(&self) -> bool {
        *self.held.borrow()
    }

    /// Resolves when the lease is taken or lost (never, once its thread has ended).
    pub async fn changed(&mut self) {
        if self.held.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn hold(
    settings: ::postgres::Config,
    key: i64,
    what: &str,
    held: watch::Sender<bool>,
    stopped: mpsc::Receiver<()>,
) {
    let mut client: Option<::postgres::Client> = None;
    let mut warned = false;
    loop {
        match client.as_mut() {
            None => match settings.connect(::postgres::NoTls) {
                Ok(c) => {
                    client = Some(c);
                    warned = false;
                    // Try for the lock at once.
                    continue;
                }
                Err(e) => {
                    if !warned {
                        tracing::warn!("{what}: cannot connect to take the lease: {e}");
                        warned = true;
                    }
                }
            },
            Some(c) => {
                let alive = if *held.borrow() {
                    c.simple_query("SELECT 1").is_ok()
                } else {
                    match c.query_one("SELECT pg_try_advisory_lock($1)", &[&key]) {
                        Ok(row) => {
                            if row.get::<_, bool>(0) {
                                tracing::info!("{what}: this node holds the lease");
                                held.send_replace(true);
                            }
                            true
                        }
                        Err(_) => false,
                    }
                };
                if !alive {
                    if held.send_replace(false) {
                        tracing::warn!("{what}: lost the lease with its connection");
                    }
                    client = None;
                }
            }
        }
        match stopped.recv_timeout(TRY_EVERY) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => break,
        }
    }
    held.send_replace(false);
    // Closing the session lets the lock go at once.
    drop(client);
}

//! A real `nats-server` (Debian's package, installed by `scripts/deps.sh`) for a test:
//! a child process on a port of its own on 127.0.0.1, with its own directory, killed
//! when the [`Nats`] is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tempfile::TempDir;

/// A running `nats-server`, accepting clients at [`url`](Nats::url).
pub struct Nats {
    child: Child,
    pub port: u16,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
    /// The port of its HTTP monitoring endpoint.
    pub monitor: u16,
    /// The server's INFO line, as it greets a client.
    pub info: String,
    /// What the server has logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
    dir: TempDir,
}

impl Nats {
    /// Starts `nats-server` on a port it picks (`-p -1`: no race for a free port), reads
    /// the port from its log, and returns once it has greeted a client with its INFO.
    pub fn start() -> Nats {
        let dir = tempfile::tempdir().expect("temp dir");
        let (child, port, monitor, log) = launch(dir.path(), "-1", "-1");
        let mut nats = Nats {
            child,
            port,
            monitor,
            url: format!("nats://127.0.0.1:{port}"),
            info: String::new(),
            log,
            dir,
        };
        let (_, info) = nats.client();
        nats.info = info;
        nats
    }

    /// Kills the server (SIGKILL: its clients see the connection drop).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on its port (after [`kill`](Nats::kill)).
    pub fn restart(&mut self) {
        self.kill();
        let ports = (self.port.to_string(), self.monitor.to_string());
        let (child, port, monitor, log) = launch(self.dir.path(), &ports.0, &ports.1);
        assert_eq!((port, monitor), (self.port, self.monitor));
        self.child = child;
        self.log = log;
        let _ = self.client();
    }

    /// Waits (up to 10 s) until `n` clients have subscribed to subjects beginning with
    /// `prefix`, as the server's monitoring endpoint (`/connz`) reports; panics if not.
    pub fn wait_for_subscribers(&self, prefix: &str, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let connz = self.monitor_get("/connz?subs=1");
            let subscribed = connz["connections"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| {
                    c["subscriptions_list"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|s| s.as_str().is_some_and(|s| s.starts_with(prefix)))
                })
                .count();
            if subscribed >= n {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{subscribed} of {n} clients subscribed to {prefix}*: {connz}"
            );
            // Polling another process's state, which has no event to wait on.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The JSON the monitoring endpoint answers `path` with.
    fn monitor_get(&self, path: &str) -> serde_json::Value {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.monitor)).expect("connect to the monitor");
        write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read the answer");
        let (_, body) = answer.split_once("\r\n\r\n").expect("a body");
        serde_json::from_str(body).expect("JSON")
    }

    /// A plain client connection and the INFO line the server greeted it with.
    pub fn client(&self) -> (TcpStream, String) {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to nats-server");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        let info = read_line(&stream);
        assert!(
            info.starts_with("INFO "),
            "nats-server greeted with {info:?}"
        );
        (stream, info)
    }

    /// Sends `CONNECT` and `PING` on a new connection; returns the server's answer.
    pub fn ping(&self) -> String {
        let (mut stream, _) = self.client();
        stream
            .write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n")
            .expect("send PING");
        read_line(&stream)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `nats-server` in `dir` on `port` with its monitor on `monitor` (`-1`: ports it
/// picks) and waits until it listens: the child, its ports and its log so far (kept
/// growing).
fn launch(
    dir: &std::path::Path,
    port: &str,
    monitor: &str,
) -> (Child, u16, u16, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", port, "-m", monitor])
        .arg("--store_dir")
        .arg(dir.join("store"))
        .arg("--pid")
        .arg(dir.join("nats.pid"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nats-server (installed by scripts/deps.sh)");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut monitor = None;
    let port = loop {
        let Some(line) = lines.next() else {
            let status = child.wait().expect("wait for nats-server");
            panic!(
                "nats-server exited ({status}) before listening:\n{}",
                log.lock().unwrap().join("\n")
            );
        };
        let line = line.expect("read nats-server's log");
        log.lock().unwrap().push(line.clone());
        if let Some((_, addr)) = line.split_once("Starting http monitor on ") {
            let port = addr.trim().rsplit(':').next().expect("host:port");
            monitor = Some(port.parse::<u16>().expect("a port"));
        }
        if let Some((_, addr)) = line.split_once("Listening for client connections on ") {
            let port = addr.trim().rsplit(':').next().expect("host:port");
            break port.parse::<u16>().expect("a port");
        }
    };
    // Keep draining its log so the server never blocks on a full pipe.
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    let monitor = monitor.expect("the monitor starts before the client port");
    (child, port, monitor, log)
}

/// One protocol line (up to CRLF), without its end.
fn read_line(mut stream: &TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => line.push(byte[0]),
            Err(e) => panic!("reading from nats-server: {e}"),
        }
    }
    String::from_utf8_lossy(&line).trim_end().to_string()
}

//! A real TLS path for the tests: a throwaway certificate authority made here (rcgen),
//! certificates it signs (for the right name, the wrong one, or expired), and Debian's
//! nginx on a 127.0.0.1 port terminating TLS in front of a server, with its whole
//! configuration in a temporary directory.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tempfile::TempDir;

use crate::wait_until;

/// A certificate authority that exists for one test.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// How the certificate a server shows is wrong, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// For `localhost` and 127.0.0.1, valid now.
    Good,
    /// For `chit.test` only.
    WrongName,
    /// For `localhost`, but it ran out in 2021.
    Expired,
}

impl Ca {
    pub fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "chit test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    /// The CA's certificate, PEM, as `--ca-file` takes it.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate and its key, both PEM.
    pub fn issue(&self, leaf: Leaf) -> (String, String) {
        let names = match leaf {
            Leaf::Good | Leaf::Expired => vec!["localhost".to_string(), "127.0.0.1".to_string()],
            Leaf::WrongName => vec!["chit.test".to_string()],
        };
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "chit test server");
        if leaf == Leaf::Expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        (cert.pem(), key.serialize_pem())
    }

    /// Writes the CA's certificate into `dir`; returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, self.pem()).expect("write ca.pem");
        path
    }
}

impl Default for Ca {
    fn default() -> Self {
        Ca::new()
    }
}

/// nginx terminating TLS on 127.0.0.1 and passing WebSocket connections to a server.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    /// `wss://localhost:PORT`.
    pub url: String,
    dir: TempDir,
}

/// Where Debian puts nginx (`/usr/sbin`, which is not on every user's PATH).
fn nginx_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("nginx"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("nginx is missing: run scripts/deps.sh (it installs Debian's nginx, which the wss:// tests put in front of the server)")
        })
}

impl Nginx {
    /// Starts nginx showing the certificate `leaf` from `ca`, in front of the server
    /// listening on `upstream`.
    pub fn start(ca: &Ca, leaf: Leaf, upstream: SocketAddr) -> Nginx {
        Nginx::start_with(ca, leaf, |dir, port| config(dir, port, upstream))
    }

    /// Starts nginx in front of several nodes with the configuration chit ships for that,
    /// `contrib/nginx-chit-cluster.conf`, as a user would adapt it: this port and
    /// certificate, and `nodes` for its three example nodes.
    pub fn start_cluster(ca: &Ca, nodes: &[SocketAddr]) -> Nginx {
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/nginx-chit-cluster.conf"),
        )
        .expect("contrib/nginx-chit-cluster.conf");
        Nginx::start_with(ca, Leaf::Good, |dir, port| {
            cluster_config(dir, port, &shipped, nodes)
        })
    }

    fn start_with(ca: &Ca, leaf: Leaf, config: impl Fn(&Path, u16) -> String) -> Nginx {
        let binary = nginx_binary();
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key) = ca.issue(leaf);
        std::fs::write(dir.path().join("server.pem"), cert).expect("write cert");
        std::fs::write(dir.path().join("server.key"), key).expect("write key");
        // nginx has no port 0: take a free port, then hand it over (retried if another
        // process takes it in between).
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, config(dir.path(), port)).expect("write nginx.conf");
            let mut child = Command::new(&binary)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf)
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start nginx");
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let up = wait_until("nginx to listen", || {
                if let Ok(Some(_)) = child.try_wait() {
                    return Some(false);
                }
                TcpStream::connect(addr).ok().map(|_| true)
            });
            if up == Some(true) {
                return Nginx {
                    child,
                    addr,
                    url: format!("wss://localhost:{port}"),
                    dir,
                };
            }
            let _ = child.kill();
            let out = child.wait_with_output().expect("nginx output");
            eprintln!(
                "nginx did not start on port {port}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        panic!(
            "nginx would not start; its log:\n{}",
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        );
    }

    /// The directory its configuration and logs are in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What every test nginx runs with around its `http` block's own configuration: one
/// process (`master_process off`, so killing it leaves no worker behind), in the
/// foreground, everything under `dir`.
fn around(dir: &Path, inside: &str) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{inside}
}}
"#
    )
}

/// The shipped cluster configuration with this machine's names in it: the listening
/// port, the certificate in `dir`, and `nodes` in place of the example nodes.
fn cluster_config(dir: &Path, port: u16, shipped: &str, nodes: &[SocketAddr]) -> String {
    let d = dir.display();
    let mut nodes = nodes.iter();
    let mut inside = String::new();
    for line in shipped.lines() {
        let trimmed = line.trim_start();
        let line = if trimmed.starts_with("listen 443") {
            format!("    listen 127.0.0.1:{port} ssl;")
        } else if trimmed.starts_with("listen [::]:443") {
            continue;
        } else if trimmed.starts_with("server_name ") {
            "    server_name localhost;".to_string()
        } else if trimmed.starts_with("ssl_certificate ") {
            format!("    ssl_certificate {d}/server.pem;")
        } else if trimmed.starts_with("ssl_certificate_key ") {
            format!("    ssl_certificate_key {d}/server.key;")
        } else if let Some(rest) = trimmed.strip_prefix("server 10.0.0.") {
            let node = nodes.next().expect("a node for each example node");
            let options = rest.split_once(' ').map_or("", |(_, o)| o);
            format!("    server {node} {options}")
        } else {
            line.to_string()
        };
        inside.push_str(&line);
        inside.push('\n');
    }
    assert!(nodes.next().is_none(), "as many nodes as the example has");
    around(dir, &inside)
}

/// A server block in front of the one server at `upstream`.
fn config(dir: &Path, port: u16, upstream: SocketAddr) -> String {
    let d = dir.display();
    let inside = format!(
        r#"    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
        }}
    }}"#
    );
    around(dir, &inside)
}

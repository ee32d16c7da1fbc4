//! Opening one WebSocket to one server: TCP, then TLS for `wss://`, then the WebSocket
//! handshake, within a time limit, each failure said as a [`ConnectError`]. The full
//! client and the load generator's lean connections both start here.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::error::ConnectError;
use crate::servers::Endpoint;
use crate::tls::{self, Trust};

/// How long a connection has for TCP, TLS and the WebSocket handshake together.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A TCP stream, with TLS over it for `wss://`. tokio-tungstenite has such a type only
/// behind its internal rustls feature, which brings its own choice of roots; this one
/// is two variants and a match per call.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

pub type Socket = WebSocketStream<Stream>;

/// How long each step of opening a connection took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    pub tcp: Duration,
    /// `None` for `ws://`.
    pub tls: Option<Duration>,
    pub websocket: Duration,
}

/// Opens a WebSocket to `endpoint`.
pub async fn open(
    endpoint: &Endpoint,
    trust: &Trust,
    config: WebSocketConfig,
) -> Result<(Socket, Timing), ConnectError> {
    tokio::time::timeout(CONNECT_TIMEOUT, open_now(endpoint, trust, config))
        .await
        .map_err(|_| ConnectError::TimedOut {
            url: endpoint.url.clone(),
            secs: CONNECT_TIMEOUT.as_secs(),
        })?
}

async fn open_now(
    endpoint: &Endpoint,
    trust: &Trust,
    config: WebSocketConfig,
) -> Result<(Socket, Timing), ConnectError> {
    let url = || endpoint.url.clone();
    let mut timing = Timing::default();
    let start = Instant::now();
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| ConnectError::Unreachable {
            url: url(),
            reason: e.to_string(),
        })?;
    // Frames are small and latency matters more than packet count.
    let _ = tcp.set_nodelay(true);
    timing.tcp = start.elapsed();
    let stream = if endpoint.secure {
        let start = Instant::now();
        let name =
            ServerName::try_from(endpoint.host.clone()).map_err(|_| ConnectError::BadUrl {
                url: url(),
                reason: format!(
                    "'{}' is not a host name a certificate can carry",
                    endpoint.host
                ),
            })?;
        let connector = tokio_rustls::TlsConnector::from(trust.config());
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| ConnectError::Tls {
                url: url(),
                problem: tls::problem(&e, &endpoint.host),
            })?;
        timing.tls = Some(start.elapsed());
        Stream::Tls(Box::new(tls))
    } else {
        Stream::Plain(tcp)
    };
    let start = Instant::now();
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(endpoint.url.as_str(), stream, Some(config))
            .await
            .map_err(|e| handshake_error(endpoint, e))?;
    timing.websocket = start.elapsed();
    Ok((ws, timing))
}

fn handshake_error(endpoint: &Endpoint, e: tokio_tungstenite::tungstenite::Error) -> ConnectError {
    use tokio_tungstenite::tungstenite::Error;
    let url = endpoint.url.clone();
    match e {
        Error::Http(response) => {
            // A TLS terminator answers plain HTTP on its TLS port with 400.
            let hint = if !endpoint.secure && response.status() == 400 {
                " (is it a wss:// server?)"
            } else {
                ""
            };
            ConnectError::NotChit {
                url,
                reason: format!("it answered HTTP {}{hint}", response.status()),
            }
        }
        Error::Io(io) => ConnectError::Unreachable {
            url,
            reason: io.to_string(),
        },
        Error::Protocol(p) if !endpoint.secure => ConnectError::NotChit {
            url,
            reason: format!("{p} (is it a wss:// server?)"),
        },
        other => ConnectError::NotChit {
            url,
            reason: other.to_string(),
        },
    }
}

impl Stream {
    /// Whether this connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

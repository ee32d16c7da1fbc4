//! Why connecting or a request failed, typed so that callers branch on the kind (a
//! refusal, a certificate problem, an unreachable server), never on the text.

use chit_protocol::ErrorCode;

/// Why a connection to one server could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("'{url}' is not a server URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot reach the server at '{url}': {reason}")]
    Unreachable { url: String, reason: String },
    #[error("cannot reach the server at '{url}': no answer within {secs} s")]
    TimedOut { url: String, secs: u64 },
    #[error("cannot connect securely to '{url}': {problem}")]
    Tls { url: String, problem: TlsProblem },
    #[error("'{url}' did not answer as a chit server: {reason}")]
    NotChit { url: String, reason: String },
    /// The server answered `hello` with an error: a bad or revoked token, mostly.
    #[error("the server at '{url}' refused the connection: {message} ({code})")]
    Refused {
        url: String,
        code: ErrorCode,
        message: String,
    },
}

impl ConnectError {
    /// The URL this was about.
    pub fn url(&self) -> &str {
        match self {
            ConnectError::BadUrl { url, .. }
            | ConnectError::Unreachable { url, .. }
            | ConnectError::TimedOut { url, .. }
            | ConnectError::Tls { url, .. }
            | ConnectError::NotChit { url, .. }
            | ConnectError::Refused { url, .. } => url,
        }
    }

    /// The server's error code, if it refused `hello`.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ConnectError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the server's certificate did not check out.
    pub fn is_untrusted(&self) -> bool {
        matches!(self, ConnectError::Tls { problem, .. } if problem.is_certificate())
    }

    /// Whether only a person can mend it (a token, a certificate, a URL): retrying the
    /// same thing soon will not help.
    pub fn needs_a_person(&self) -> bool {
        match self {
            ConnectError::BadUrl { .. } => true,
            ConnectError::Refused { code, .. } => code.needs_a_person(),
            ConnectError::Tls { problem, .. } => problem.is_certificate(),
            _ => false,
        }
    }
}

/// What was wrong with a TLS connection, said so a person can act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsProblem {
    #[error(
        "the server's certificate is signed by an authority this machine does not trust (unknown issuer); for a private CA, pass its certificate with --ca-file"
    )]
    UnknownIssuer,
    #[error("the server's certificate is not for '{host}'{} (name mismatch)", for_names(.presented))]
    NameMismatch {
        host: String,
        presented: Vec<String>,
    },
    #[error("the server's certificate expired{} (expired)", on_date(*.not_after))]
    Expired {
        /// Unix seconds, when the certificate said.
        not_after: Option<u64>,
    },
    #[error("the server's certificate is not valid yet{}: is this machine's clock right?", from_date(*.not_before))]
    NotYetValid { not_before: Option<u64> },
    #[error("the server's certificate has been revoked")]
    Revoked,
    #[error("the server's certificate cannot be used: {0}")]
    BadCertificate(String),
    #[error("the TLS handshake failed: {0}")]
    Handshake(String),
}

impl TlsProblem {
    /// Whether the certificate itself is at fault (rather than the handshake).
    pub fn is_certificate(&self) -> bool {
        !matches!(self, TlsProblem::Handshake(_))
    }
}

fn for_names(presented: &[String]) -> String {
    if presented.is_empty() {
        String::new()
    } else {
        format!(" but for {}", presented.join(", "))
    }
}

fn on_date(at: Option<u64>) -> String {
    at.map(|secs| format!(" on {}", date(secs)))
        .unwrap_or_default()
}

fn from_date(at: Option<u64>) -> String {
    at.map(|secs| format!(" (from {})", date(secs)))
        .unwrap_or_default()
}

fn date(unix_secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_secs);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A request the server refused, with its code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServerError {
    pub code: ErrorCode,
    pub message: String,
}

/// Why a request on a connection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{message}")]
    Server { code: ErrorCode, message: String },
    #[error("the connection to the server was lost{}", .0.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Disconnected(Option<String>),
    #[error("the server sent an unexpected reply: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// The server's error code, if the server refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Server { code, .. }
            | ClientError::Connect(ConnectError::Refused { code, .. }) => Some(*code),
            _ => None,
        }
    }

    /// Whether this means the server is unreachable or refused who we are, rather than
    /// refusing one request.
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            ClientError::Connect(_)
                | ClientError::Disconnected(_)
                | ClientError::Server {
                    code: ErrorCode::Unauthorized,
                    ..
                }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_problems_read_as_sentences() {
        let e = ConnectError::Tls {
            url: "wss://kitchen.example:7787".into(),
            problem: TlsProblem::NameMismatch {
                host: "localhost".into(),
                presented: vec!["DnsName(\"chit.test\")".into()],
            },
        };
        assert!(e.to_string().starts_with(
            "cannot connect securely to 'wss://kitchen.example:7787': the server's certificate is not for 'localhost' but for"
        ));
        assert!(e.needs_a_person());
        let expired = TlsProblem::Expired {
            not_after: Some(1_700_000_000),
        };
        assert_eq!(
            expired.to_string(),
            "the server's certificate expired on 2023-11-14T22:13:20Z (expired)"
        );
        assert!(TlsProblem::UnknownIssuer.to_string().contains("--ca-file"));
        assert!(!TlsProblem::Handshake("x".into()).is_certificate());
    }
}

//! TLS for `wss://`: rustls with the ring provider, trusting the system's roots, the
//! roots webpki-roots carries, and the certificates of `--ca-file`; and what a failed
//! handshake meant, as a [`TlsProblem`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::{CertificateError, ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::TlsProblem;

/// A `--ca-file` that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--ca-file '{}': {reason}", path.display())]
pub struct CaFileError {
    pub path: PathBuf,
    pub reason: String,
}

/// What a client trusts. The system's roots are read once, at the first `wss://`
/// connection, so a `ws://`-only client never pays for them.
#[derive(Debug, Default)]
pub struct Trust {
    extra: Vec<CertificateDer<'static>>,
    config: OnceLock<Arc<ClientConfig>>,
}

impl Trust {
    /// The system's and webpki's roots, plus every certificate in `ca_file` (PEM).
    pub fn new(ca_file: Option<&Path>) -> Result<Trust, CaFileError> {
        let extra = match ca_file {
            Some(path) => read_ca_file(path)?,
            None => Vec::new(),
        };
        Ok(Trust {
            extra,
            config: OnceLock::new(),
        })
    }

    /// The rustls configuration, made on first use.
    pub fn config(&self) -> Arc<ClientConfig> {
        self.config
            .get_or_init(|| Arc::new(client_config(&self.extra)))
            .clone()
    }
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let fail = |reason: String| CaFileError {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("not a PEM file of certificates: {e}")))?;
    if certs.is_empty() {
        return Err(fail(
            "holds no certificate (expected '-----BEGIN CERTIFICATE-----')".into(),
        ));
    }
    // Each must parse as a trust anchor, or the handshake would fail later, less clearly.
    let mut roots = RootCertStore::empty();
    for cert in &certs {
        roots
            .add(cert.clone())
            .map_err(|e| fail(format!("a certificate in it cannot be used: {e}")))?;
    }
    Ok(certs)
}

fn client_config(extra: &[CertificateDer<'static>]) -> ClientConfig {
    let start = std::time::Instant::now();
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!("reading the system's certificates: {e}");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    roots.add_parsable_certificates(extra.iter().cloned());
    tracing::debug!(
        "trusting {added} system certificates ({ignored} unusable), webpki's roots and {} from --ca-file; read in {:?}",
        extra.len(),
        start.elapsed()
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // A WebSocket starts as HTTP/1.1; say so to terminators that look at ALPN.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// What went wrong in a handshake with `host`, from the error tokio-rustls returned.
pub fn problem(error: &std::io::Error, host: &str) -> TlsProblem {
    let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return TlsProblem::Handshake(error.to_string());
    };
    match tls {
        rustls::Error::InvalidCertificate(cert) => certificate_problem(cert, host),
        rustls::Error::InvalidMessage(_) => {
            TlsProblem::Handshake(format!("{tls} (is it a plain ws:// server?)"))
        }
        other => TlsProblem::Handshake(other.to_string()),
    }
}

fn certificate_problem(cert: &CertificateError, host: &str) -> TlsProblem {
    match cert {
        CertificateError::UnknownIssuer => TlsProblem::UnknownIssuer,
        CertificateError::NotValidForName => TlsProblem::NameMismatch {
            host: host.to_string(),
            presented: Vec::new(),
        },
        CertificateError::NotValidForNameContext { presented, .. } => TlsProblem::NameMismatch {
            host: host.to_string(),
            presented: presented.iter().map(|n| plain_name(n)).collect(),
        },
        CertificateError::Expired => TlsProblem::Expired { not_after: None },
        CertificateError::ExpiredContext { not_after, .. } => TlsProblem::Expired {
            not_after: Some(not_after.as_secs()),
        },
        CertificateError::NotValidYet => TlsProblem::NotYetValid { not_before: None },
        CertificateError::NotValidYetContext { not_before, .. } => TlsProblem::NotYetValid {
            not_before: Some(not_before.as_secs()),
        },
        CertificateError::Revoked => TlsProblem::Revoked,
        other => TlsProblem::BadCertificate(format!("{other:?}")),
    }
}

/// `DnsName("chit.test")` (how webpki lists a certificate's names) as `chit.test`.
fn plain_name(name: &str) -> String {
    match (name.find("(\""), name.rfind("\")")) {
        (Some(start), Some(end)) if start + 2 <= end => name[start + 2..end].to_string(),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shown_plainly() {
        assert_eq!(plain_name("DnsName(\"chit.test\")"), "chit.test");
        assert_eq!(plain_name("IpAddress(127.0.0.1)"), "IpAddress(127.0.0.1)");
    }

    #[test]
    fn a_ca_file_must_hold_certificates() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = Trust::new(Some(&empty)).unwrap_err();
        assert!(e.to_string().contains("holds no certificate"), "{e}");
        let e = Trust::new(Some(&dir.join("missing.pem"))).unwrap_err();
        assert!(e.to_string().contains("cannot read it"), "{e}");
    }

    #[test]
    fn certificate_errors_become_problems() {
        let err = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let unknown = err(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ));
        assert_eq!(problem(&unknown, "a"), TlsProblem::UnknownIssuer);
        let expired = err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        assert_eq!(
            problem(&expired, "a"),
            TlsProblem::Expired { not_after: None }
        );
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(matches!(problem(&reset, "a"), TlsProblem::Handshake(_)));
    }
}

//! The servers a client may use: `--server` is one URL or several separated by commas,
//! each `ws://` or `wss://`, tried in order and failed over between.

use std::fmt;
use std::str::FromStr;

use tokio_tungstenite::tungstenite::http::Uri;

use crate::error::ConnectError;

/// One server: its URL as given, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    /// `wss://`: TLS first.
    pub secure: bool,
    /// As in the URL, without the brackets of an IPv6 address; also the name the
    /// certificate must carry.
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, ConnectError> {
        let bad = |reason: &str| ConnectError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|_| bad("write it as ws://HOST:PORT or wss://HOST:PORT"))?;
        let secure = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            Some(_) => return Err(bad("it must start with ws:// or wss://")),
            None => return Err(bad("it needs ws:// or wss:// in front")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("it names no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        Ok(Endpoint {
            url: url.to_string(),
            secure,
            host,
            port,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// The servers of `--server`, in the order given; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Servers(Vec<Endpoint>);

impl Servers {
    pub fn parse(list: &str) -> Result<Servers, ConnectError> {
        let mut endpoints = Vec::new();
        for entry in list.split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(ConnectError::BadUrl {
                    url: list.to_string(),
                    reason: "an entry of the list is empty".into(),
                });
            }
            endpoints.push(Endpoint::parse(entry)?);
        }
        Ok(Servers(endpoints))
    }

    pub fn get(&self, i: usize) -> &Endpoint {
        &self.0[i % self.0.len()]
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: a list has at least one server.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Endpoint> {
        self.0.iter()
    }

    pub fn urls(&self) -> Vec<String> {
        self.0.iter().map(|e| e.url.clone()).collect()
    }

    /// Whether any of them needs TLS.
    pub fn any_secure(&self) -> bool {
        self.0.iter().any(|e| e.secure)
    }
}

impl FromStr for Servers {
    type Err = ConnectError;

    fn from_str(s: &str) -> Result<Servers, ConnectError> {
        Servers::parse(s)
    }
}

impl fmt::Display for Servers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.urls().join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_parsed_in_order() {
        let s = Servers::parse("wss://kitchen.example, ws://127.0.0.1:7787,wss://[::1]:8443/chit")
            .unwrap();
        let got: Vec<(bool, &str, u16)> = s
            .iter()
            .map(|e| (e.secure, e.host.as_str(), e.port))
            .collect();
        assert_eq!(
            got,
            vec![
                (true, "kitchen.example", 443),
                (false, "127.0.0.1", 7787),
                (true, "::1", 8443)
            ]
        );
        assert_eq!(s.get(4).url, "ws://127.0.0.1:7787");
        assert_eq!(
            s.to_string(),
            "wss://kitchen.example,ws://127.0.0.1:7787,wss://[::1]:8443/chit"
        );
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        for (list, says) in [
            ("http://a:1", "ws:// or wss://"),
            ("127.0.0.1:7787", "ws:// or wss://"),
            ("ws://a:1,,ws://b:2", "empty"),
            ("ws://", "ws://HOST:PORT"),
        ] {
            let e = Servers::parse(list).unwrap_err();
            assert!(matches!(e, ConnectError::BadUrl { .. }), "{list}");
            assert!(e.to_string().contains(says), "{list}: {e}");
        }
    }
}

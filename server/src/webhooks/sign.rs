//! Standard Webhooks 1.0 signatures, both ways: `webhook-signature: v1,<base64 of the
//! HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the bytes of a `whsec_`
//! secret. Checked against the specification's reference implementation's vectors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a signed timestamp may be from now, either way, in seconds.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// A `whsec_` secret: 24 random bytes (192 bits, the minimum the specification asks).
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    getrandom::fill(&mut key).expect("the operating system's random source");
    format!("whsec_{}", STANDARD.encode(key))
}

/// The key bytes of a `whsec_` secret, if it is one.
fn key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix("whsec_")?).ok()
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any size");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value for a message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = key(secret).unwrap_or_else(|| secret.as_bytes().to_vec());
    let tag = mac(&key, id, timestamp, body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("the {0} header is missing or unreadable")]
    Missing(&'static str),
    #[error("webhook-timestamp is not a Unix time in seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is {0} s from now, more than the 5 minutes allowed")]
    Stale(i64),
    #[error("no v1 signature matches the body")]
    BadSignature,
}

/// Checks a request's `webhook-id`, `webhook-timestamp` and `webhook-signature` (any
/// of its space-separated `v1,` signatures may match) against `body`, at `now` (Unix
/// seconds). The comparison takes constant time.
pub fn verify(
    secret: &str,
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Rejected> {
    let id = id
        .filter(|i| !i.is_empty())
        .ok_or(Rejected::Missing("webhook-id"))?;
    let timestamp = timestamp.ok_or(Rejected::Missing("webhook-timestamp"))?;
    let signatures = signatures.ok_or(Rejected::Missing("webhook-signature"))?;
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Rejected::BadTimestamp)?;
    let skew = timestamp.saturating_sub(now);
    if skew.abs() > TOLERANCE_SECS {
        return Err(Rejected::Stale(skew));
    }
    let key = key(secret).unwrap_or_else(|| secret.as_bytes().to_vec());
    let expected = mac(&key, id, timestamp, body);
    let matches = signatures.split(' ').any(|sig| {
        sig.strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|tag| expected.clone().verify_slice(&tag).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(Rejected::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference implementation's vector (standard-webhooks, libraries/rust).
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn signs_as_the_reference_implementation_does() {
        assert_eq!(sign(SECRET, ID, TS, BODY), SIGNATURE);
        // Svix's documented example, the format Standard Webhooks comes from.
        assert_eq!(
            sign(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn verifies_good_signatures_and_refuses_the_rest() {
        let ts = TS.to_string();
        let check =
            |sigs: &str, now: i64| verify(SECRET, Some(ID), Some(&ts), Some(sigs), BODY, now);
        assert_eq!(check(SIGNATURE, TS), Ok(()));
        assert_eq!(check(&format!("v1,bm90IGl0 {SIGNATURE}"), TS + 299), Ok(()));
        // The reference implementation's wrong signature.
        assert_eq!(
            check("v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=", TS),
            Err(Rejected::BadSignature)
        );
        assert_eq!(check("v1,", TS), Err(Rejected::BadSignature));
        assert_eq!(
            check(&SIGNATURE.replace("v1,", "v2,"), TS),
            Err(Rejected::BadSignature)
        );
        assert_eq!(check(SIGNATURE, TS + 301), Err(Rejected::Stale(-301)));
        assert_eq!(check(SIGNATURE, TS - 301), Err(Rejected::Stale(301)));
        let tampered = verify(SECRET, Some(ID), Some(&ts), Some(SIGNATURE), b"{}", TS);
        assert_eq!(tampered, Err(Rejected::BadSignature));
        let other_id = verify(
            SECRET,
            Some("msg_other"),
            Some(&ts),
            Some(SIGNATURE),
            BODY,
            TS,
        );
        assert_eq!(other_id, Err(Rejected::BadSignature));
        assert_eq!(
            verify(SECRET, None, Some(&ts), Some(SIGNATURE), BODY, TS),
            Err(Rejected::Missing("webhook-id"))
        );
        assert_eq!(
            verify(SECRET, Some(ID), Some("soon"), Some(SIGNATURE), BODY, TS),
            Err(Rejected::BadTimestamp)
        );
    }

    #[test]
    fn new_secrets_are_random_whsec_keys_of_24_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(key(&a).map(|k| k.len()), Some(24));
        let sig = sign(&a, "msg_1", 10, b"x");
        assert_eq!(
            verify(&a, Some("msg_1"), Some("10"), Some(&sig), b"x", 10),
            Ok(())
        );
        assert_eq!(
            verify(&b, Some("msg_1"), Some("10"), Some(&sig), b"x", 10),
            Err(Rejected::BadSignature)
        );
    }
}

//! Webhook signatures: `X-Staunch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `<t>.<body>`. The timestamp is signed so a captured request cannot be replayed later.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const HEADER: &str = "X-Staunch-Signature";

/// HMAC-SHA256 under `secret` over `parts`, one after the other.
fn mac_over(secret: &str, parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("hmac accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Whether `signature` is the HMAC-SHA256 under `secret` of `parts`, compared in constant time
/// (`verify_slice`). Every signature Staunch checks, outbound or inbound, goes through here.
pub fn hmac_sha256_matches(secret: &str, parts: &[&[u8]], signature: &[u8]) -> bool {
    mac_over(secret, parts).verify_slice(signature).is_ok()
}

pub fn sign(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    let mac = mac_over(secret, &[unix_seconds.to_string().as_bytes(), b".", body]);
    format!("t={unix_seconds},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header is malformed")]
    Malformed,
    #[error("signature timestamp is outside the tolerance")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a signature header in constant time (`verify_slice`) and that its timestamp is
/// within `tolerance_seconds` of `now_unix_seconds`.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now_unix_seconds: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signature = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Malformed);
    };
    if (now_unix_seconds - timestamp).abs() > tolerance_seconds {
        return Err(SignatureError::Stale);
    }
    if !hmac_sha256_matches(secret, &[timestamp.to_string().as_bytes(), b".", body], &signature) {
        return Err(SignatureError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tampering() {
        let header = sign("s3cret", 1_700_000_000, b"{\"a\":1}");
        assert_eq!(verify("s3cret", &header, b"{\"a\":1}", 1_700_000_010, 300), Ok(()));
        assert_eq!(verify("s3cret", &header, b"{\"a\":2}", 1_700_000_010, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify("other", &header, b"{\"a\":1}", 1_700_000_010, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify("s3cret", &header, b"{\"a\":1}", 1_700_001_000, 300), Err(SignatureError::Stale));
        assert_eq!(verify("s3cret", "v1=zz", b"", 0, 300), Err(SignatureError::Malformed));
    }
}

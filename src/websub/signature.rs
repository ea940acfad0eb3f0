//! `X-Hub-Signature: method=hex`: the HMAC of a delivered body under the subscription's
//! secret. Checked before anything else is done with the body. Pure.

use hmac::{Hmac, Mac};

/// What a delivery's signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// It matches the body and the secret.
    Valid,
    /// There is no `X-Hub-Signature` header.
    Missing,
    /// The header is not `method=hex`, or names a method WebSub does not define.
    Malformed(String),
    /// It does not match: the body was forged or altered, or signed with another secret.
    Mismatch,
}

impl Signature {
    /// Why a delivery was ignored, for the log.
    pub fn reason(&self) -> String {
        match self {
            Signature::Valid => "valid".into(),
            Signature::Missing => "unsigned (no X-Hub-Signature)".into(),
            Signature::Malformed(why) => format!("malformed X-Hub-Signature: {why}"),
            Signature::Mismatch => "X-Hub-Signature does not match the body".into(),
        }
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn verify<M: Mac + hmac::digest::KeyInit>(secret: &[u8], body: &[u8], expected: &[u8]) -> bool {
    match <M as hmac::digest::KeyInit>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            // constant time: a forger learns nothing from how long the answer took
            mac.verify_slice(expected).is_ok()
        }
        Err(_) => false,
    }
}

/// Checks `header` (the `X-Hub-Signature` value, if any) against `body` and `secret`.
pub fn check(header: Option<&str>, secret: &[u8], body: &[u8]) -> Signature {
    let Some(header) = header else {
        return Signature::Missing;
    };
    let Some((method, hex)) = header.trim().split_once('=') else {
        return Signature::Malformed("expected method=hexdigest".into());
    };
    let Some(expected) = unhex(hex.trim()) else {
        return Signature::Malformed("the digest is not hexadecimal".into());
    };
    let ok = match method.trim().to_ascii_lowercase().as_str() {
        "sha1" => verify::<Hmac<sha1::Sha1>>(secret, body, &expected),
        "sha256" => verify::<Hmac<sha2::Sha256>>(secret, body, &expected),
        "sha384" => verify::<Hmac<sha2::Sha384>>(secret, body, &expected),
        "sha512" => verify::<Hmac<sha2::Sha512>>(secret, body, &expected),
        other => {
            return Signature::Malformed(format!(
                "unknown method {:?} (expected sha1, sha256, sha384 or sha512)",
                other.chars().take(20).collect::<String>()
            ));
        }
    };
    if ok {
        Signature::Valid
    } else {
        Signature::Mismatch
    }
}

/// The `X-Hub-Signature` value a hub sends for `body` under `secret` with sha256 (for tests
/// and the benchmark).
pub fn sign_sha256(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(secret)
        .expect("HMAC takes any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2 (key "Jefe"), and RFC 2202 for SHA-1
    const BODY: &[u8] = b"what do ya want for nothing?";

    #[test]
    fn every_websub_method_verifies() {
        let cases = [
            ("sha1", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
            (
                "sha256",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                "sha384",
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            ),
            (
                "sha512",
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            ),
        ];
        for (method, hex) in cases {
            let header = format!("{method}={hex}");
            assert_eq!(
                check(Some(&header), b"Jefe", BODY),
                Signature::Valid,
                "{method}"
            );
            assert_eq!(
                check(
                    Some(&header.to_uppercase().replace("SHA", "sha")),
                    b"Jefe",
                    BODY
                ),
                Signature::Valid,
                "{method}, upper-case hex"
            );
            assert_eq!(
                check(Some(&header), b"Jeff", BODY),
                Signature::Mismatch,
                "{method}"
            );
            assert_eq!(
                check(Some(&header), b"Jefe", b"what do ya want for nothing!"),
                Signature::Mismatch,
                "{method}"
            );
        }
        assert_eq!(
            check(Some(&sign_sha256(b"k", b"body")), b"k", b"body"),
            Signature::Valid
        );
    }

    #[test]
    fn missing_and_malformed() {
        assert_eq!(check(None, b"k", BODY), Signature::Missing);
        for bad in ["sha256", "sha256=zz", "sha256=abc", "md5=00ff", ""] {
            assert!(
                matches!(check(Some(bad), b"k", BODY), Signature::Malformed(_)),
                "{bad:?}"
            );
        }
    }
}

//! How Staunch authenticates to a Prometheus HTTP API, in Prometheus's own vocabulary:
//! `bearer_token_file` (or `bearer_token`), `basic_auth: {username, password_file | password}`
//! and extra `headers:` (e.g. `X-Scope-OrgID` for Mimir). One type for every place that names a
//! Prometheus server (`telemetry.prometheus`, `slos[].sli.prometheus`), checked and resolved at
//! load into the headers each request carries.
//!
//! - **Read once.** Secret files are read when the config is loaded; an unreadable or empty
//!   file is a config error naming its field, not a 401 at the first incident.
//! - **Inline or file.** Like `smtp.password` and webhook secrets, a secret may be written in
//!   the file (`bearer_token`, `basic_auth.password`); a `…_file` keeps it out of the config
//!   instead. Never both for one secret, and never bearer and basic together.
//! - **Never shown.** `Debug` prints header names only; problems never echo a secret.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A secret written in the config: it prints as `<redacted>`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("<redacted>")
    }
}

/// `basic_auth:` as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthFields {
    pub username: String,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

/// The authentication fields of one Prometheus block, as written; the block keeps them as its
/// own (flat, like Prometheus's) fields and hands them here to be resolved.
pub struct AuthFields<'a> {
    pub bearer_token: Option<&'a str>,
    pub bearer_token_file: Option<&'a Path>,
    pub basic_auth: Option<&'a BasicAuthFields>,
    pub headers: &'a BTreeMap<String, String>,
}

/// The headers every request to one Prometheus server carries, resolved at load.
#[derive(Clone, Default, PartialEq)]
pub struct PrometheusAuth {
    /// The `Authorization` value (`Bearer …` or `Basic …`), when any.
    authorization: Option<String>,
    /// `headers:`, in the file's order of names.
    headers: Vec<(String, String)>,
}

impl std::fmt::Debug for PrometheusAuth {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.authorization.as_deref().and_then(|value| value.split_once(' ')).map(|(scheme, _)| scheme);
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        formatter.debug_struct("PrometheusAuth").field("authorization", &scheme).field("headers", &names).finish()
    }
}

impl PrometheusAuth {
    /// The resolved auth of `fields`, found at `field` (e.g. `telemetry.prometheus`); every
    /// problem is pushed to `problems` naming its field.
    pub fn resolve(fields: AuthFields<'_>, field: &str, problems: &mut Vec<String>) -> PrometheusAuth {
        let mut auth = PrometheusAuth::default();
        let bearer = secret(fields.bearer_token, fields.bearer_token_file, &format!("{field}.bearer_token"), problems);
        let basic = fields.basic_auth.map(|basic| {
            let at = format!("{field}.basic_auth");
            if basic.username.is_empty() || basic.username.contains(':') || !is_header_value(&basic.username) {
                problems.push(format!("{at}.username: must be non-empty, printable and without ':'"));
            }
            let password = secret(
                basic.password.as_ref().map(|secret| secret.0.as_str()),
                basic.password_file.as_deref(),
                &format!("{at}.password"),
                problems,
            );
            if password.is_none() && basic.password.is_none() && basic.password_file.is_none() {
                problems.push(format!("{at}: give password_file (or password)"));
            }
            (basic.username.clone(), password)
        });
        match (bearer, basic) {
            (Some(_), Some(_)) => problems.push(format!("{field}: give bearer_token_file or basic_auth, not both")),
            (Some(token), None) => auth.authorization = Some(format!("Bearer {token}")),
            (None, Some((username, Some(password)))) => {
                auth.authorization = Some(format!("Basic {}", base64(format!("{username}:{password}").as_bytes())));
            }
            _ => {}
        }
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in fields.headers {
            let at = format!("{field}.headers.{name}");
            let lower = name.to_ascii_lowercase();
            if !is_header_name(name) {
                problems.push(format!("{at}: not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"));
            } else if lower == "authorization" {
                problems.push(format!("{at}: give bearer_token_file or basic_auth instead, so the secret is never shown"));
            } else if matches!(lower.as_str(), "host" | "content-length" | "transfer-encoding" | "connection") {
                problems.push(format!("{at}: set by the HTTP client itself"));
            } else if seen.contains(&lower) {
                problems.push(format!("{at}: given twice (header names ignore case)"));
            } else if !is_header_value(value) {
                problems.push(format!("{at}: the value must be printable ASCII without line breaks"));
            }
            seen.push(lower);
            auth.headers.push((name.clone(), value.clone()));
        }
        auth
    }

    /// Every header to send, `Authorization` (sensitive) first.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        let authorization = self.authorization.as_deref().map(|value| ("authorization", value, true));
        authorization.into_iter().chain(self.headers.iter().map(|(name, value)| (name.as_str(), value.as_str(), false)))
    }
}

/// A secret given inline or in a file (read now, trimmed), at `field` (`…_file` for the file).
fn secret(inline: Option<&str>, file: Option<&Path>, field: &str, problems: &mut Vec<String>) -> Option<String> {
    let value = match (inline, file) {
        (None, None) => return None,
        (Some(_), Some(_)) => {
            let name = field.rsplit('.').next().unwrap_or(field);
            problems.push(format!("{field}: give {name}_file or {name}, not both"));
            return None;
        }
        (Some(inline), None) => inline.trim().to_string(),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(text) => text.trim().to_string(),
            Err(error) => {
                problems.push(format!("{field}_file: cannot read {}: {error}", path.display()));
                return None;
            }
        },
    };
    let shown = if file.is_some() { format!("{field}_file") } else { field.to_string() };
    if value.is_empty() {
        problems.push(format!("{shown}: is empty"));
        return None;
    }
    if !is_header_value(&value) {
        problems.push(format!("{shown}: must be printable ASCII without line breaks"));
        return None;
    }
    Some(value)
}

/// RFC 9110 `token`: what an HTTP header name may be.
fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// Visible ASCII, spaces and tabs: what every HTTP client sends unchanged.
fn is_header_value(value: &str) -> bool {
    value.bytes().all(|byte| byte == b'\t' || (b' '..=b'~').contains(&byte))
}

/// Standard base64 with padding, for `Basic` credentials (no dependency for twenty lines).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let triple = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(ALPHABET[((triple >> (18 - 6 * index)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        bearer_token: Option<&str>,
        bearer_token_file: Option<&Path>,
        basic_auth: Option<&BasicAuthFields>,
        headers: &[(&str, &str)],
    ) -> (PrometheusAuth, Vec<String>) {
        let headers = headers.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
        let mut problems = Vec::new();
        let fields = AuthFields { bearer_token, bearer_token_file, basic_auth, headers: &headers };
        (PrometheusAuth::resolve(fields, "p", &mut problems), problems)
    }

    fn sent(auth: &PrometheusAuth) -> Vec<(String, String)> {
        auth.headers().map(|(name, value, _)| (name.to_string(), value.to_string())).collect()
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn secrets_are_read_trimmed_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "s3cret-token\n").unwrap();
        let (auth, problems) = resolve(None, Some(&token), None, &[("X-Scope-OrgID", "tenant-1")]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            sent(&auth),
            vec![
                ("authorization".to_string(), "Bearer s3cret-token".to_string()),
                ("X-Scope-OrgID".to_string(), "tenant-1".to_string())
            ]
        );
        let shown = format!("{auth:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("tenant-1"), "{shown}");
        assert!(shown.contains("Bearer") && shown.contains("X-Scope-OrgID"), "{shown}");

        let password = dir.path().join("password");
        std::fs::write(&password, "  open sesame \n").unwrap();
        let basic = BasicAuthFields { username: "Aladdin".to_string(), password: None, password_file: Some(password) };
        let (auth, problems) = resolve(None, None, Some(&basic), &[]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(sent(&auth), vec![("authorization".to_string(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".to_string())]);
        assert!(!format!("{auth:?}{basic:?}").contains("sesame"));
    }

    #[test]
    fn every_problem_names_its_field() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let missing = dir.path().join("missing");
        let basic = |password: Option<&str>, file: Option<&Path>| BasicAuthFields {
            username: "me".to_string(),
            password: password.map(|password| Secret(password.to_string())),
            password_file: file.map(Path::to_path_buf),
        };
        let cases: Vec<(PrometheusAuth, Vec<String>, &str)> = vec![
            {
                let (auth, problems) = resolve(None, Some(&empty), None, &[]);
                (auth, problems, "p.bearer_token_file: is empty")
            },
            {
                let (auth, problems) = resolve(None, Some(&missing), None, &[]);
                (auth, problems, "p.bearer_token_file: cannot read")
            },
            {
                let (auth, problems) = resolve(Some("a"), Some(&empty), None, &[]);
                (auth, problems, "p.bearer_token: give bearer_token_file or bearer_token, not both")
            },
            {
                let (auth, problems) = resolve(Some("a"), None, Some(&basic(Some("b"), None)), &[]);
                (auth, problems, "p: give bearer_token_file or basic_auth, not both")
            },
            {
                let (auth, problems) = resolve(None, None, Some(&basic(None, None)), &[]);
                (auth, problems, "p.basic_auth: give password_file")
            },
            {
                let (auth, problems) = resolve(None, None, Some(&basic(None, Some(&missing))), &[]);
                (auth, problems, "p.basic_auth.password_file: cannot read")
            },
            {
                let (auth, problems) = resolve(None, None, None, &[("X Bad", "v")]);
                (auth, problems, "p.headers.X Bad: not an HTTP header name")
            },
            {
                let (auth, problems) = resolve(None, None, None, &[("X-Ok", "line\nbreak")]);
                (auth, problems, "p.headers.X-Ok: the value must be printable")
            },
            {
                let (auth, problems) = resolve(None, None, None, &[("Authorization", "Bearer hunter2")]);
                (auth, problems, "p.headers.Authorization: give bearer_token_file or basic_auth instead")
            },
            {
                let (auth, problems) = resolve(None, None, None, &[("X-A", "1"), ("x-a", "2")]);
                (auth, problems, "p.headers.x-a: given twice")
            },
        ];
        for (_, problems, expected) in cases {
            assert!(problems.iter().any(|problem| problem.starts_with(expected)), "{expected}: {problems:?}");
            assert!(!problems.iter().any(|problem| problem.contains("hunter2")), "{problems:?}");
        }
    }
}

//! Tenants. Every tenant-owned record carries an [`OrgId`]; the storage layer puts it in every
//! query, so one organisation's credentials can never reach another's data.

use serde::{Deserialize, Serialize};

/// An organisation (tenant), as numbered by the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrgId(pub i64);

impl OrgId {
    /// The organisation a single-team installation runs in. The database creates it with the
    /// schema, under the slug [`DEFAULT_ORG_SLUG`].
    pub const DEFAULT: OrgId = OrgId(1);
}

/// The slug of [`OrgId::DEFAULT`]: the organisation the config file's top-level keys describe.
pub const DEFAULT_ORG_SLUG: &str = "default";

/// An organisation's short name, as used in the config file and on the command line:
/// lowercase ASCII letters, digits and `-`, starting with a letter, at most 63 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct OrgSlug(String);

impl OrgSlug {
    pub fn parse(text: &str) -> Result<OrgSlug, String> {
        let valid_start = text.chars().next().is_some_and(|first| first.is_ascii_lowercase());
        let valid_chars = text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_start || !valid_chars || text.len() > 63 {
            return Err(format!(
                "{text:?} is not an organisation slug: use lowercase letters, digits and -, starting with a letter, at most 63 characters"
            ));
        }
        Ok(OrgSlug(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_parsed_not_trusted() {
        assert!(OrgSlug::parse("acme").is_ok());
        assert!(OrgSlug::parse("acme-2").is_ok());
        for bad in ["", "Acme", "2acme", "acme corp", "acme/../x", &"a".repeat(64)] {
            assert!(OrgSlug::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}

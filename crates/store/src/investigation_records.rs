//! Records of the investigation: catalog entities, stored investigations, and past incidents
//! found by their words.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use staunch_domain::catalog::CatalogEntity;

/// What replacing an organisation's catalog changed, by entity ref.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogSync {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: u64,
}

/// The latest investigation of one incident, as the server computed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredInvestigation {
    pub incident_id: i64,
    pub computed_at: Timestamp,
    pub result: serde_json::Value,
}

/// The alerts of an incident, first by id, whose texts the search of past incidents holds
/// (as many as an investigation reads). The first alerts say what the incident is about; the
/// rest of a flood mostly repeats them, and bounding them keeps one flooded incident from
/// filling the index and skewing every other search's word weights.
pub const SEARCHED_ALERTS_PER_INCIDENT: u32 = 500;

/// A search for past incidents resembling one. Only incidents opened strictly before
/// `before`, and only their text known strictly before it, are considered.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarIncidentQuery {
    /// Plain words (letters and digits only); a past incident matches any of them, ranked by
    /// how well it matches all.
    pub words: Vec<String>,
    pub before: Timestamp,
    /// The incident being investigated, never its own match.
    pub exclude_incident: Option<i64>,
    pub limit: u32,
}

/// A past incident and how well it matched (higher is better; comparable within one answer
/// only, not across backends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarIncidentHit {
    pub incident_id: i64,
    pub score: f64,
}

/// Keys catalog rows by entity ref.
pub fn catalog_entity_key(entity: &CatalogEntity) -> String {
    entity.entity_ref().key()
}

/// The words of `text` a full-text query may carry: runs of letters and digits, lowercased,
/// at least two characters, at most `max` distinct ones in order of first appearance.
pub fn search_words(text: &str, max: usize) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.chars().count() < 2 || words.len() >= max {
            continue;
        }
        let word = word.to_lowercase();
        if !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

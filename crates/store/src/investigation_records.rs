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

/// One text of an incident for the search of past incidents (its title, or an alert's summary
/// and label values), with when it became known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentText {
    pub body: String,
    pub at: Timestamp,
}

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

/// Once the search index holds this many rows, common words are left out of a search; smaller
/// indexes are searched with every word, since they are cheap to search whole.
pub const FILTER_COMMON_WORDS_FROM_ROWS: f64 = 10_000.0;
/// A word held by more than this share of the index's rows is common...
const COMMON_WORD_SHARE: f64 = 0.05;
/// ...and left out as long as this many words remain.
const MIN_SEARCH_WORDS: usize = 3;

/// The words worth searching, rarest first, given each word's share of the index's rows that
/// hold it and how many rows the index holds: every word while the index is smaller than
/// [`FILTER_COMMON_WORDS_FROM_ROWS`] (in the order given), else the three rarest and every
/// other word no more than 5% of rows hold. The same rule on every backend; how a backend
/// learns the shares is its own. Matching and ranking a word every incident holds is most of a
/// search's cost, and it adds almost nothing to the ranking.
pub fn words_worth_searching<W>(mut shares: Vec<(f64, W)>, indexed_rows: f64) -> Vec<W> {
    if indexed_rows < FILTER_COMMON_WORDS_FROM_ROWS {
        return shares.into_iter().map(|(_, word)| word).collect();
    }
    shares.sort_by(|a, b| a.0.total_cmp(&b.0));
    shares
        .into_iter()
        .enumerate()
        .filter(|(index, (share, _))| *index < MIN_SEARCH_WORDS || *share <= COMMON_WORD_SHARE)
        .map(|(_, (_, word))| word)
        .collect()
}

/// The most rows of an index of `indexed_rows` a word may be held by and not be common. A
/// backend that counts a word's rows itself can stop one row past it: any more only says the
/// word is common, and counting a word every row holds costs as much as searching it.
pub fn uncommon_word_max_rows(indexed_rows: f64) -> u64 {
    (indexed_rows * COMMON_WORD_SHARE).floor() as u64
}

/// Whether the common words' exact shares matter, given how many words are not common: only
/// when fewer than three are, since the rarest of the common ones then fill the search.
pub fn common_word_shares_needed(uncommon_words: usize) -> bool {
    uncommon_words < MIN_SEARCH_WORDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_words_are_left_out_once_the_index_is_large() {
        let shares = || vec![(0.5, "svc"), (0.0, "disk"), (0.3, "api"), (0.05, "full"), (0.2, "error")];
        assert_eq!(words_worth_searching(shares(), 9_999.0), vec!["svc", "disk", "api", "full", "error"]);
        assert_eq!(words_worth_searching(shares(), 10_000.0), vec!["disk", "full", "error"]);
        assert_eq!(words_worth_searching(vec![(0.9, "a"), (0.8, "b")], 50_000.0), vec!["b", "a"]);
    }

    #[test]
    fn a_word_counted_up_to_the_cap_is_uncommon_exactly_when_its_share_is_at_most_five_percent() {
        let max = uncommon_word_max_rows(10_000.0);
        assert_eq!(max, 500);
        assert_eq!(
            words_worth_searching(vec![(0.0, "x"), (0.0, "y"), (0.0, "z"), (max as f64 / 10_000.0, "kept")], 10_000.0).len(),
            4
        );
        let over = (max + 1) as f64 / 10_000.0;
        assert_eq!(words_worth_searching(vec![(0.0, "x"), (0.0, "y"), (0.0, "z"), (over, "left out")], 10_000.0).len(), 3);
        assert!(common_word_shares_needed(2));
        assert!(!common_word_shares_needed(3));
    }
}

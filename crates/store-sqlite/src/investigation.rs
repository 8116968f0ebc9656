//! The SQLite side of the investigation: the catalog, stored investigations, change events by
//! time, and past incidents through the FTS5 index `incident_search` (kept by triggers, see
//! migration 0007).

use crate::backend;
use crate::codec::{json_text, micros};
use crate::statement::query;
use rusqlite::Connection;
use staunch_domain::catalog::CatalogEntity;
use staunch_store::codec::{self, CHANGE_EVENT_COLUMNS};
use staunch_store::*;

const CATALOG: &str = "SELECT entity FROM catalog_entities WHERE org_id = ? ORDER BY entity_ref";

/// The organisation's catalog, on a reading connection or inside the write transaction.
pub(crate) fn catalog(connection: &Connection, org: OrgId) -> StoreResult<Vec<CatalogEntity>> {
    query(CATALOG).bind(org.0).fetch_decoded(connection, |row| codec::catalog_entity(row))
}

pub(crate) fn upsert_entity(
    connection: &rusqlite::Connection,
    org: OrgId,
    entity: &CatalogEntity,
    at: jiff::Timestamp,
) -> StoreResult<()> {
    query(
        "INSERT INTO catalog_entities (org_id, entity_ref, entity, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (org_id, entity_ref) DO UPDATE SET entity = excluded.entity, updated_at = excluded.updated_at",
    )
    .bind(org.0)
    .bind(catalog_entity_key(entity))
    .bind(json_text(entity))
    .bind(micros(at))
    .execute(connection)
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn delete_entity(connection: &rusqlite::Connection, org: OrgId, entity_ref: &str) -> StoreResult<()> {
    query("DELETE FROM catalog_entities WHERE org_id = ? AND entity_ref = ?")
        .bind(org.0)
        .bind(entity_ref)
        .execute(connection)
        .map_err(backend)?;
    Ok(())
}

pub(crate) fn save(connection: &rusqlite::Connection, org: OrgId, investigation: &StoredInvestigation) -> StoreResult<()> {
    query(
        "INSERT INTO investigations (org_id, incident_id, computed_at, result) VALUES (?, ?, ?, ?) \
         ON CONFLICT (org_id, incident_id) DO UPDATE SET computed_at = excluded.computed_at, result = excluded.result",
    )
    .bind(org.0)
    .bind(investigation.incident_id)
    .bind(micros(investigation.computed_at))
    .bind(json_text(&investigation.result))
    .execute(connection)
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn latest(connection: &Connection, org: OrgId, incident_id: i64) -> StoreResult<Option<StoredInvestigation>> {
    query("SELECT incident_id, computed_at, result FROM investigations WHERE org_id = ? AND incident_id = ?")
        .bind(org.0)
        .bind(incident_id)
        .fetch_one_decoded(connection, |row| codec::stored_investigation(row))
}

pub(crate) fn changes_between(
    connection: &Connection,
    org: OrgId,
    from: jiff::Timestamp,
    until: jiff::Timestamp,
    limit: u32,
) -> StoreResult<Vec<ChangeEvent>> {
    let sql = format!(
        "SELECT {CHANGE_EVENT_COLUMNS} FROM change_events INDEXED BY change_events_by_at \
         WHERE org_id = ? AND at >= ? AND at <= ? ORDER BY at DESC, id DESC LIMIT ?"
    );
    query(sql)
        .bind(org.0)
        .bind(micros(from))
        .bind(micros(until))
        .bind(i64::from(limit))
        .fetch_decoded(connection, |row| codec::change_event(row))
}

/// [`words_worth_searching`], with each word's rows counted by matching it alone (over every
/// organisation's rows, as bm25's own word weights are), so a word is counted as the index
/// stems it: the index holds "warn" for "warning", and looking "warning" up as written in a
/// vocabulary found nothing, so a word every alert held was searched as a rare one. Counting
/// stops one row past [`uncommon_word_max_rows`], and goes on for the common words only when
/// their exact shares matter ([`common_word_shares_needed`]).
fn without_common_words(connection: &Connection, quoted: Vec<String>) -> StoreResult<Vec<String>> {
    let total: i64 = query("SELECT COALESCE(MAX(rowid), 0) FROM incident_search").fetch_scalar(connection)?.unwrap_or(0);
    if (total as f64) < FILTER_COMMON_WORDS_FROM_ROWS {
        return Ok(quoted);
    }
    let max_rows = uncommon_word_max_rows(total as f64) as i64;
    let mut counted = Vec::with_capacity(quoted.len());
    for word in quoted {
        counted.push((rows_holding(connection, &word, Some(max_rows + 1))?, word));
    }
    let uncommon = counted.iter().filter(|(rows, _)| *rows <= max_rows).count();
    if common_word_shares_needed(uncommon) {
        for (rows, word) in counted.iter_mut().filter(|(rows, _)| *rows > max_rows) {
            *rows = rows_holding(connection, word, None)?;
        }
    }
    let shares = counted.into_iter().map(|(rows, word)| (rows as f64 / total as f64, word)).collect();
    Ok(words_worth_searching(shares, total as f64))
}

/// Rows of `incident_search` holding a quoted word, counted up to `at_most`. Only rowids are
/// read: the word's list of rows, not the rows themselves.
fn rows_holding(connection: &Connection, quoted_word: &str, at_most: Option<i64>) -> StoreResult<i64> {
    let rows = query("SELECT count(*) FROM (SELECT rowid FROM incident_search WHERE incident_search MATCH ? LIMIT ?)")
        .bind(quoted_word)
        .bind(at_most.unwrap_or(-1))
        .fetch_scalar(connection)?;
    Ok(rows.unwrap_or(0))
}

/// FTS5 with an OR of quoted words (quotes make every word a plain token, whatever it
/// spells); `rank` (bm25) ranks, lower is better, so the score is its negation. An incident with
/// several matching rows counts by its best one (the CTE is materialized because FTS5's rank
/// cannot be read from a flattened subquery under GROUP BY).
pub(crate) fn similar(
    connection: &Connection,
    org: OrgId,
    search: &SimilarIncidentQuery,
) -> StoreResult<Vec<SimilarIncidentHit>> {
    let words: Vec<String> = search
        .words
        .iter()
        .filter(|word| !word.is_empty() && word.chars().all(char::is_alphanumeric))
        .map(|word| format!("\"{word}\""))
        .collect();
    if words.is_empty() || search.limit == 0 {
        return Ok(Vec::new());
    }
    let words = without_common_words(connection, words)?;
    query(
        "WITH matches AS MATERIALIZED ( \
           SELECT incident_id, rank FROM incident_search \
           WHERE incident_search MATCH ? AND org_id = ? AND opened_at < ? AND at < ? AND incident_id <> ? \
         ) SELECT incident_id, MIN(rank) AS best FROM matches GROUP BY incident_id ORDER BY best, incident_id DESC LIMIT ?",
    )
    .bind(words.join(" OR "))
    .bind(org.0)
    .bind(micros(search.before))
    .bind(micros(search.before))
    .bind(search.exclude_incident.unwrap_or(-1))
    .bind(i64::from(search.limit))
    .fetch_decoded(connection, |row| {
        let incident_id: i64 = row.get("incident_id")?;
        let best: f64 = row.get("best")?;
        Ok(SimilarIncidentHit { incident_id, score: -best })
    })
}

/// An incident's title and the texts of its first alerts not yet in `incident_search_texts`,
/// each with the time it became known, the title first, then in alert id order, at most ?4. The first alerts by id come from two ordered range
/// scans of `alerts_by_incident` (one per `firing` value), so a flooded incident is not read
/// whole and sorted.
const FRESH_TEXTS: &str = "\
    WITH first_alerts AS ( \
        SELECT * FROM ( \
            SELECT * FROM (SELECT id, summary, labels, first_seen FROM alerts \
                           WHERE org_id = ?1 AND incident_id = ?2 AND firing = 0 ORDER BY id LIMIT ?3) \
            UNION ALL \
            SELECT * FROM (SELECT id, summary, labels, first_seen FROM alerts \
                           WHERE org_id = ?1 AND incident_id = ?2 AND firing = 1 ORDER BY id LIMIT ?3) \
        ) ORDER BY id LIMIT ?3 \
    ), texts AS ( \
        SELECT title AS body, created_at AS at, 0 AS position FROM incidents WHERE org_id = ?1 AND id = ?2 \
        UNION ALL \
        SELECT summary || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(labels)), ''), first_seen, id \
        FROM first_alerts \
    ) \
    SELECT body, MIN(at) AS at FROM texts \
    WHERE body NOT IN (SELECT body FROM incident_search_texts WHERE org_id = ?1 AND incident_id = ?2) \
    GROUP BY body ORDER BY MIN(position) LIMIT ?4";

/// Rows per multi-row insert: five parameters each, well under SQLite's limit.
const TEXTS_PER_INSERT: usize = 500;

pub(crate) fn index_texts(connection: &rusqlite::Connection, org: OrgId, incident_id: i64, limit: u32) -> StoreResult<u64> {
    let fresh = query(FRESH_TEXTS)
        .bind(org.0)
        .bind(incident_id)
        .bind(i64::from(SEARCHED_ALERTS_PER_INCIDENT))
        .bind(i64::from(limit))
        .fetch_all(connection)
        .map_err(backend)?
        .iter()
        .map(|row| Ok((row.get(0)?, row.get(1)?)))
        .collect::<StoreResult<Vec<(String, i64)>>>()?;
    add_texts(connection, org, incident_id, &fresh)
}

/// [`FRESH_TEXTS`] without a limit, from what is committed (see
/// [`Store::incident_texts_to_index`]).
pub(crate) fn texts_to_index(connection: &Connection, org: OrgId, incident_id: i64) -> StoreResult<Vec<IncidentText>> {
    query(FRESH_TEXTS).bind(org.0).bind(incident_id).bind(i64::from(SEARCHED_ALERTS_PER_INCIDENT)).bind(-1_i64).fetch_decoded(
        connection,
        |row| {
            let at: i64 = row.get("at")?;
            Ok(IncidentText { body: row.get("body")?, at: timestamp_from_micros(at)? })
        },
    )
}

/// Adds the texts `incident_search_texts` does not hold for the incident (the first of two
/// with one body), each into both tables; nothing for an incident the organisation does not
/// have. `INSERT OR IGNORE ... RETURNING` names the bodies that were new.
pub(crate) fn add_texts(
    connection: &rusqlite::Connection,
    org: OrgId,
    incident_id: i64,
    texts: &[(String, i64)],
) -> StoreResult<u64> {
    let opened_at: Option<i64> = query("SELECT created_at FROM incidents WHERE org_id = ? AND id = ?")
        .bind(org.0)
        .bind(incident_id)
        .fetch_scalar(connection)?;
    let Some(opened_at) = opened_at else {
        return Ok(0);
    };
    let mut added = 0;
    for chunk in texts.chunks(TEXTS_PER_INSERT) {
        let mut indexed = query("INSERT OR IGNORE INTO incident_search_texts (org_id, incident_id, body) ");
        indexed.push_values(chunk, |row, (body, _)| {
            row.push_bind(org.0).push_bind(incident_id).push_bind(body);
        });
        indexed.push(" RETURNING body");
        let new_bodies: std::collections::HashSet<String> =
            indexed.fetch_all(connection).map_err(backend)?.iter().map(|row| row.get(0)).collect::<StoreResult<_>>()?;
        let mut fresh: Vec<&(String, i64)> = chunk.iter().filter(|(body, _)| new_bodies.contains(body)).collect();
        // A body given twice was inserted once: keep its first.
        let mut seen = std::collections::HashSet::new();
        fresh.retain(|(body, _)| seen.insert(body.as_str()));
        if fresh.is_empty() {
            continue;
        }
        let mut search = query("INSERT INTO incident_search (body, org_id, incident_id, opened_at, at) ");
        search.push_values(&fresh, |row, (body, at)| {
            row.push_bind(body).push_bind(org.0).push_bind(incident_id).push_bind(opened_at).push_bind(*at);
        });
        search.execute(connection).map_err(backend)?;
        added += fresh.len() as u64;
    }
    Ok(added)
}

pub(crate) fn index_every_text(connection: &rusqlite::Connection) -> StoreResult<u64> {
    let incidents = query("SELECT org_id, id FROM incidents ORDER BY id")
        .fetch_all(connection)
        .map_err(backend)?
        .iter()
        .map(|row| Ok((row.get(0)?, row.get(1)?)))
        .collect::<StoreResult<Vec<(i64, i64)>>>()?;
    let mut added = 0;
    for (org, incident_id) in incidents {
        added += index_texts(connection, OrgId(org), incident_id, u32::MAX)?;
    }
    Ok(added)
}

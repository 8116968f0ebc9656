//! The PostgreSQL side of the investigation: the catalog, stored investigations, change events
//! by time, and past incidents through `incident_search` (a `tsvector` column with a GIN
//! index, filled by [`index_texts`] and a trigger on notes, see migrations 0007 and 0010).
//!
//! **Common words are left out of a search, as the SQLite backend leaves them out**: once the
//! index holds 10,000 rows, a word held by more than 5% of them is dropped, keeping at least
//! the three rarest words. A word every incident holds (`svc` of `svc-042`, an `alertname`
//! every alert carries) matches the whole index: PostgreSQL then ranks every row and sorts them
//! by incident, which at 100,000 past incidents is most of the time to first hypotheses, for a
//! word that adds nearly nothing to the ranking.
//!
//! The share of rows holding a word is read from the table's statistics (`pg_stats`: ANALYZE
//! keeps, for a `tsvector` column, the lexemes in more than a small fraction of its sampled
//! rows with that fraction, `most_common_elems`/`most_common_elem_freqs`), not counted:
//! - `ts_stat` counts exactly but reads the whole index per query, which is the cost to avoid;
//! - a word-count table maintained on insert counts exactly but turns every indexed text into
//!   updates of the same few rows (the common words' counters), which replicas indexing at once
//!   would queue on, and adds writes to every job claim;
//! - the statistics cost one catalog read per search and nothing on write. They are a sample
//!   (30,000 rows at the default statistics target) and as fresh as the last ANALYZE, which
//!   the store runs itself as the index grows by a fifth (`statistics.rs`), besides
//!   autovacuum's. A share near 5% may fall either side of the line; a word held by a large
//!   share of rows, the case that costs, is always in the sample's list. Before any analysis
//!   (a new, small index) nothing is left out, as SQLite leaves nothing out below 10,000 rows.
//!
//! Words the `english` configuration drops (stop words such as `above`) match nothing and are
//! left out first; unlike SQLite's index, this one stems and drops stop words.

use crate::backend;
use crate::codec::{Columns, json_text, micros};
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};
use staunch_domain::catalog::CatalogEntity;
use staunch_store::codec::{self, CHANGE_EVENT_COLUMNS};
use staunch_store::*;

pub(crate) async fn catalog(connection: impl sqlx::PgExecutor<'_>, org: OrgId) -> StoreResult<Vec<CatalogEntity>> {
    let rows = sqlx::query("SELECT entity FROM catalog_entities WHERE org_id = $1 ORDER BY entity_ref")
        .bind(org.0)
        .fetch_all(connection)
        .await
        .map_err(backend)?;
    rows.iter().map(|row| codec::catalog_entity(&Columns(row))).collect()
}

pub(crate) async fn upsert_entity(
    connection: &mut PgConnection,
    org: OrgId,
    entity: &CatalogEntity,
    at: jiff::Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO catalog_entities (org_id, entity_ref, entity, updated_at) VALUES ($1, $2, $3::jsonb, $4) \
         ON CONFLICT (org_id, entity_ref) DO UPDATE SET entity = excluded.entity, updated_at = excluded.updated_at",
    )
    .bind(org.0)
    .bind(catalog_entity_key(entity))
    .bind(json_text(entity))
    .bind(micros(at))
    .execute(connection)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn delete_entity(connection: &mut PgConnection, org: OrgId, entity_ref: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM catalog_entities WHERE org_id = $1 AND entity_ref = $2")
        .bind(org.0)
        .bind(entity_ref)
        .execute(connection)
        .await
        .map_err(backend)?;
    Ok(())
}

pub(crate) async fn save(connection: &mut PgConnection, org: OrgId, investigation: &StoredInvestigation) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO investigations (org_id, incident_id, computed_at, result) VALUES ($1, $2, $3, $4::jsonb) \
         ON CONFLICT (org_id, incident_id) DO UPDATE SET computed_at = excluded.computed_at, result = excluded.result",
    )
    .bind(org.0)
    .bind(investigation.incident_id)
    .bind(micros(investigation.computed_at))
    .bind(json_text(&investigation.result))
    .execute(connection)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn latest(pool: &PgPool, org: OrgId, incident_id: i64) -> StoreResult<Option<StoredInvestigation>> {
    let row = sqlx::query("SELECT incident_id, computed_at, result FROM investigations WHERE org_id = $1 AND incident_id = $2")
        .bind(org.0)
        .bind(incident_id)
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
    row.as_ref().map(|row| codec::stored_investigation(&Columns(row))).transpose()
}

pub(crate) async fn changes_between(
    pool: &PgPool,
    org: OrgId,
    from: jiff::Timestamp,
    until: jiff::Timestamp,
    limit: u32,
) -> StoreResult<Vec<ChangeEvent>> {
    let sql = format!(
        "SELECT {CHANGE_EVENT_COLUMNS} FROM change_events \
         WHERE org_id = $1 AND at >= $2 AND at <= $3 ORDER BY at DESC, id DESC LIMIT $4"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(org.0)
        .bind(micros(from))
        .bind(micros(until))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.iter().map(|row| codec::change_event(&Columns(row))).collect()
}

/// For each word (in order): whether the `english` configuration indexes it at all (stop words
/// give no lexeme), the largest share of `incident_search`'s rows holding one of its lexemes
/// by the statistics (0 for a lexeme not among the common ones), and the rows the statistics
/// counted (negative before the first analysis). `most_common_elem_freqs` has three entries
/// more than `most_common_elems` (minimum, maximum, nulls): unnested side by side they pair
/// with no lexeme and join nothing.
const WORD_SHARES: &str = "\
    WITH statistics AS ( \
        SELECT unnest(most_common_elems::text::text[]) AS lexeme, unnest(most_common_elem_freqs) AS share \
        FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'incident_search' AND attname = 'document' \
    ) \
    SELECT words.word, bool_or(lexemes.lexeme IS NOT NULL) AS indexed, COALESCE(MAX(statistics.share), 0)::float8 AS share, \
           (SELECT reltuples FROM pg_class WHERE oid = 'incident_search'::regclass)::float8 AS total \
    FROM unnest($1::text[]) WITH ORDINALITY AS words (word, position) \
    LEFT JOIN LATERAL unnest(tsvector_to_array(to_tsvector('english', words.word))) AS lexemes (lexeme) ON true \
    LEFT JOIN statistics ON statistics.lexeme = lexemes.lexeme \
    GROUP BY words.word, words.position ORDER BY words.position";

/// The words worth searching: those the index holds at all, then [`words_worth_searching`]
/// by the statistics' shares (see the module's doc).
async fn without_common_words(pool: &PgPool, words: Vec<&str>) -> StoreResult<Vec<String>> {
    let rows: Vec<(String, bool, f64, f64)> = sqlx::query_as(WORD_SHARES).bind(&words).fetch_all(pool).await.map_err(backend)?;
    let total = rows.first().map_or(0.0, |row| row.3);
    let indexed = rows.into_iter().filter(|(_, indexed, _, _)| *indexed).map(|(word, _, share, _)| (share, word)).collect();
    Ok(words_worth_searching(indexed, total))
}

/// An OR of the words as a `tsquery` (words are letters and digits only, so nothing in them
/// is tsquery syntax), without the common ones, ranked by `ts_rank`; an incident counts by its
/// best row.
pub(crate) async fn similar(pool: &PgPool, org: OrgId, query: &SimilarIncidentQuery) -> StoreResult<Vec<SimilarIncidentHit>> {
    let words: Vec<&str> = query
        .words
        .iter()
        .map(String::as_str)
        .filter(|word| !word.is_empty() && word.chars().all(char::is_alphanumeric))
        .collect();
    if words.is_empty() || query.limit == 0 {
        return Ok(Vec::new());
    }
    let words = without_common_words(pool, words).await?;
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT incident_id, MAX(ts_rank(document, query))::float8 AS best \
         FROM incident_search, to_tsquery('english', $1) AS query \
         WHERE document @@ query AND org_id = $2 AND opened_at < $3 AND at < $3 AND incident_id <> $4 \
         GROUP BY incident_id ORDER BY best DESC, incident_id DESC LIMIT $5",
    )
    .bind(words.join(" | "))
    .bind(org.0)
    .bind(micros(query.before))
    .bind(query.exclude_incident.unwrap_or(-1))
    .bind(i64::from(query.limit))
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|row| {
            let incident_id: i64 = row.try_get("incident_id").map_err(backend)?;
            let best: f64 = row.try_get("best").map_err(backend)?;
            Ok(SimilarIncidentHit { incident_id, score: best })
        })
        .collect()
}

/// An incident's title and the distinct texts of its first $3 alerts whose digests
/// `incident_search_texts` does not hold, each with the time it became known (its earliest
/// sighting), the title first, then in alert id order.
const TEXTS_TO_INDEX: &str = "\
    WITH first_alerts AS ( \
        SELECT id, summary, labels, first_seen FROM alerts WHERE org_id = $1 AND incident_id = $2 ORDER BY id LIMIT $3 \
    ) \
    SELECT body, MIN(at) AS at FROM ( \
        SELECT title AS body, created_at AS at, 0 AS position FROM incidents WHERE org_id = $1 AND id = $2 \
        UNION ALL \
        SELECT summary || ' ' || COALESCE((SELECT string_agg(value, ' ') FROM jsonb_each_text(labels)), ''), first_seen, id \
        FROM first_alerts \
    ) every_text \
    WHERE md5(body) NOT IN (SELECT digest FROM incident_search_texts WHERE org_id = $1 AND incident_id = $2) \
    GROUP BY body ORDER BY MIN(position)";

/// Adds `texts` (the rows of a query with columns `body` and `at`, distinct bodies) whose
/// digests `incident_search_texts` takes (it did not hold them) to `incident_search`. One
/// statement, so two replicas indexing the same incident at once add each text once: the
/// second waits on the first's key and skips it.
fn add_texts_sql(texts: &str) -> String {
    format!(
        "WITH texts AS ({texts}), fresh AS ( \
             INSERT INTO incident_search_texts (org_id, incident_id, digest) \
             SELECT $1, $2, md5(body) FROM texts WHERE EXISTS (SELECT 1 FROM incidents WHERE org_id = $1 AND id = $2) \
             ON CONFLICT DO NOTHING RETURNING digest \
         ) \
         INSERT INTO incident_search (org_id, incident_id, opened_at, at, body) \
         SELECT $1, $2, incidents.created_at, texts.at, texts.body \
         FROM texts JOIN fresh ON fresh.digest = md5(texts.body) JOIN incidents ON incidents.org_id = $1 AND incidents.id = $2"
    )
}

pub(crate) async fn index_texts(connection: &mut PgConnection, org: OrgId, incident_id: i64, limit: u32) -> StoreResult<u64> {
    let statement = add_texts_sql(&format!("{TEXTS_TO_INDEX} LIMIT $4"));
    let done = sqlx::query(AssertSqlSafe(statement))
        .bind(org.0)
        .bind(incident_id)
        .bind(i64::from(SEARCHED_ALERTS_PER_INCIDENT))
        .bind(i64::from(limit))
        .execute(connection)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

/// [`TEXTS_TO_INDEX`], from what is committed (see [`Store::incident_texts_to_index`]).
pub(crate) async fn texts_to_index(pool: &PgPool, org: OrgId, incident_id: i64) -> StoreResult<Vec<IncidentText>> {
    let rows = sqlx::query(TEXTS_TO_INDEX)
        .bind(org.0)
        .bind(incident_id)
        .bind(i64::from(SEARCHED_ALERTS_PER_INCIDENT))
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    rows.iter()
        .map(|row| {
            let at: i64 = row.try_get("at").map_err(backend)?;
            Ok(IncidentText { body: row.try_get("body").map_err(backend)?, at: timestamp_from_micros(at)? })
        })
        .collect()
}

/// Adds the given texts through the statement [`index_texts`] uses, a body given twice once
/// (at its earliest time).
pub(crate) async fn add_texts(
    connection: &mut PgConnection,
    org: OrgId,
    incident_id: i64,
    texts: &[IncidentText],
) -> StoreResult<u64> {
    if texts.is_empty() {
        return Ok(0);
    }
    let bodies: Vec<&str> = texts.iter().map(|text| text.body.as_str()).collect();
    let times: Vec<i64> = texts.iter().map(|text| micros(text.at)).collect();
    let statement =
        add_texts_sql("SELECT body, MIN(at) AS at FROM unnest($3::text[], $4::int8[]) AS given (body, at) GROUP BY body");
    let done = sqlx::query(AssertSqlSafe(statement))
        .bind(org.0)
        .bind(incident_id)
        .bind(&bodies)
        .bind(&times)
        .execute(connection)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

pub(crate) async fn index_every_text(connection: &mut PgConnection) -> StoreResult<u64> {
    let incidents: Vec<(i64, i64)> =
        sqlx::query_as("SELECT org_id, id FROM incidents ORDER BY id").fetch_all(&mut *connection).await.map_err(backend)?;
    let mut added = 0;
    for (org, incident_id) in incidents {
        added += index_texts(connection, OrgId(org), incident_id, u32::MAX).await?;
    }
    Ok(added)
}

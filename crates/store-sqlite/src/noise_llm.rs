//! The SQLite side of alert-noise history (incident openings and their outcomes, read from the
//! timeline before a cut) and of language-model exchanges kept for audit.

use crate::backend;
use crate::codec::micros;
use crate::statement::query;
use rusqlite::Connection;
use staunch_domain::noise::HistoricalAlert;
use staunch_store::codec;
use staunch_store::*;

pub(crate) fn noise_history(
    connection: &Connection,
    org: OrgId,
    since: jiff::Timestamp,
    before: jiff::Timestamp,
    limit: u32,
) -> StoreResult<Vec<HistoricalAlert>> {
    let mut history = query(
        "SELECT * FROM (SELECT i.id AS id, i.service_id AS service_id, i.title AS title, i.severity AS severity, \
         i.created_at AS created_at, i.group_key AS group_key, \
         (SELECT t.actor_id FROM timeline t WHERE t.org_id = i.org_id AND t.incident_id = i.id \
            AND t.kind = 'incident.opened' ORDER BY t.id LIMIT 1) AS opened_by, \
         (SELECT t.data FROM timeline t WHERE t.org_id = i.org_id AND t.incident_id = i.id \
            AND t.kind = 'incident.opened' ORDER BY t.id LIMIT 1) AS opened_data, \
         (SELECT MIN(t.at) FROM timeline t WHERE t.org_id = i.org_id AND t.incident_id = i.id AND t.at < ?3 \
            AND (t.actor_kind IN ('user', 'token') \
                 OR (t.actor_kind = 'integration' AND t.kind = 'incident.acknowledged'))) AS first_human_action_at, \
         (SELECT MIN(t.at) FROM timeline t WHERE t.org_id = i.org_id AND t.incident_id = i.id AND t.at < ?3 \
            AND t.kind IN ('incident.resolved', 'alert.resolved')) AS resolved_at \
         FROM incidents i \
         WHERE i.org_id = ?1 AND i.created_at >= ?2 AND i.created_at < ?3) history \
         WHERE history.group_key NOT LIKE 'ticket:%' OR history.first_human_action_at IS NOT NULL \
         ORDER BY history.created_at DESC, history.id DESC LIMIT ?4",
    )
    .bind(org.0)
    .bind(micros(since))
    .bind(micros(before))
    .bind(i64::from(limit))
    .fetch_decoded(connection, |row| codec::historical_alert(row))?;
    history.reverse();
    Ok(history)
}

pub(crate) fn exchanges(connection: &Connection, org: OrgId, incident_id: i64) -> StoreResult<Vec<LlmExchange>> {
    query(
        "SELECT id, org_id, incident_id, purpose, provider, model, prompt, response, error, started_at, finished_at \
         FROM llm_exchanges WHERE org_id = ? AND incident_id = ? ORDER BY id",
    )
    .bind(org.0)
    .bind(incident_id)
    .fetch_decoded(connection, |row| codec::llm_exchange(row))
}

pub(crate) fn insert_exchange(connection: &rusqlite::Connection, exchange: &NewLlmExchange) -> StoreResult<i64> {
    let result = query(
        "INSERT INTO llm_exchanges (org_id, incident_id, purpose, provider, model, prompt, response, error, \
         started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(exchange.org.0)
    .bind(exchange.incident_id)
    .bind(&exchange.purpose)
    .bind(&exchange.provider)
    .bind(&exchange.model)
    .bind(&exchange.prompt)
    .bind(&exchange.response)
    .bind(&exchange.error)
    .bind(micros(exchange.started_at))
    .bind(micros(exchange.finished_at))
    .execute(connection)
    .map_err(backend)?;
    Ok(result.last_insert_rowid())
}

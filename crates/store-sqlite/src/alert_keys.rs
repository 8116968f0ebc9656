//! Finds alerts by dedup key without writing a random index page for every new alert.
//!
//! Dedup keys are random (Alertmanager's fingerprints are hashes), so a unique B-tree index on
//! them puts each new alert on a different page: at 100 alerts per request that page was most
//! of what a commit wrote to the WAL and a checkpoint copied back. Instead:
//! - `alert_keys` maps a 64-bit hash of (org, service, dedup key) to alert ids;
//! - the writer holds the keys of recent alerts in memory ([`RecentKeys`]) and writes them to
//!   `alert_keys` one hash range (bucket) at a time, in the commit that takes the memory over
//!   its limit, so each page written there carries many keys;
//! - `alert_key_buckets` records, per bucket, the alert id through which the table is
//!   complete, so the writer reloads exactly the missing keys when it opens.
//!
//! Invariants: every alert's key is in `alert_keys` or in memory (committed, or staged by the
//! transaction that inserted it, [`TxKeys`]); memory changes only after a successful commit;
//! the hash ([`key_hash`]) never changes, since it is on disk. Two keys may share a hash, so a
//! lookup compares the alert's own columns. The writer is the only process writing (the engine
//! lock file), which is what lets it, not a unique index, keep keys unique.

use crate::backend;
use crate::reads::ALERT_COLUMNS;
use crate::statement::query;
use crate::writer::{Writer, statement_chunks};
use rusqlite::Connection;
use staunch_store::{Alert, OrgId, StoreError, StoreResult, codec};
use std::collections::{BTreeSet, HashSet};
use std::ops::RangeInclusive;

/// Keys held in memory before commits start writing them out, a bucket per commit
/// (16 bytes each, plus the set's overhead).
pub(crate) const DEFAULT_MEMORY_LIMIT: usize = 131_072;
/// Hash ranges: the top six bits of the hash. At the steady state each commit writes 1/64
/// of the keys in memory, which lands on 1/64 of the table's pages.
const BUCKETS: u64 = 64;
const BUCKET_SHIFT: u32 = 58;

/// The full identity of an alert's key.
pub(crate) type KeyText = (i64, String, String);

/// FNV-1a over the org id and the two strings (0xff, which UTF-8 never contains, between
/// them), then SplitMix64's finaliser so the top bits, which pick the bucket, depend on every
/// byte. Stored on disk: changing it would lose every key written so far.
pub(crate) fn key_hash(org: i64, service_id: &str, dedup_key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let parts: [&[u8]; 5] = [&org.to_le_bytes(), &[0xff], service_id.as_bytes(), &[0xff], dedup_key.as_bytes()];
    for byte in parts.into_iter().flatten() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

fn bucket_of(hash: u64) -> u64 {
    hash >> BUCKET_SHIFT
}

fn bucket_range(bucket: u64) -> RangeInclusive<(u64, i64)> {
    let first = bucket << BUCKET_SHIFT;
    let last = first | ((1 << BUCKET_SHIFT) - 1);
    (first, i64::MIN)..=(last, i64::MAX)
}

fn with_hash(set: &BTreeSet<(u64, i64)>, hash: u64) -> impl Iterator<Item = i64> + '_ {
    set.range((hash, i64::MIN)..=(hash, i64::MAX)).map(|(_, id)| *id)
}

/// SQLite integers are signed; the hash is stored as the same 64 bits.
fn stored(hash: u64) -> i64 {
    hash as i64
}

/// The keys of committed alerts that are not in `alert_keys` yet, as (hash, alert id).
pub(crate) struct RecentKeys {
    entries: BTreeSet<(u64, i64)>,
    limit: usize,
    /// The bucket the next commit over the limit writes.
    next_bucket: u64,
}

impl RecentKeys {
    /// Reads the keys of every alert past its bucket's `through_alert_id`.
    pub(crate) fn load(connection: &Connection, limit: usize) -> StoreResult<RecentKeys> {
        let mut through = vec![0_i64; BUCKETS as usize];
        for row in query("SELECT bucket, through_alert_id FROM alert_key_buckets").fetch_all(connection).map_err(backend)? {
            let bucket: i64 = row.get(0)?;
            let slot = usize::try_from(bucket).ok().and_then(|bucket| through.get_mut(bucket));
            let slot = slot.ok_or_else(|| StoreError::Corrupt(format!("alert key bucket {bucket}")))?;
            *slot = row.get(1)?;
        }
        let oldest = through.iter().copied().min().unwrap_or(0);
        let rows = query("SELECT id, org_id, service_id, dedup_key FROM alerts WHERE id > ?")
            .bind(oldest)
            .fetch_all(connection)
            .map_err(backend)?;
        let mut entries = BTreeSet::new();
        for row in rows {
            let (id, org): (i64, i64) = (row.get(0)?, row.get(1)?);
            let hash = key_hash(org, &row.get::<String>(2)?, &row.get::<String>(3)?);
            if id > through[bucket_of(hash) as usize] {
                entries.insert((hash, id));
            }
        }
        Ok(RecentKeys { entries, limit, next_bucket: 0 })
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The buckets a commit writes out: none under the limit, the next one over it, and all
    /// of them far over it (an import, or the first open after the migration).
    pub(crate) fn buckets_to_write(&self, tx: &TxKeys) -> Vec<u64> {
        let held = self.entries.len() + tx.inserted.len();
        if held > 2 * self.limit {
            return (0..BUCKETS).collect();
        }
        if held > self.limit {
            return vec![self.next_bucket];
        }
        Vec::new()
    }

    /// Takes in what a transaction that committed did.
    pub(crate) fn committed(&mut self, tx: TxKeys, written: &[u64]) {
        self.entries.extend(tx.inserted);
        for bucket in written {
            self.entries.extract_if(bucket_range(*bucket), |_| true).for_each(drop);
        }
        if written.len() == 1 {
            self.next_bucket = (self.next_bucket + 1) % BUCKETS;
        }
    }
}

/// What one write transaction did to keys, applied to [`RecentKeys`] only once it commits.
#[derive(Default)]
pub(crate) struct TxKeys {
    /// Keys of the alerts it inserted, as (hash, alert id).
    inserted: BTreeSet<(u64, i64)>,
    /// Keys it looked up and did not find: inserting one of them needs no second lookup, since
    /// nothing else writes while the transaction holds the writer.
    absent: HashSet<KeyText>,
    /// Whether an import wrote alerts: their keys are checked for duplicates at commit.
    imported: bool,
}

impl TxKeys {
    pub(crate) fn inserted(&mut self, org: i64, service_id: &str, dedup_key: &str, alert_id: i64) {
        self.inserted.insert((key_hash(org, service_id, dedup_key), alert_id));
    }

    pub(crate) fn imported(&mut self, org: i64, service_id: &str, dedup_key: &str, alert_id: i64) {
        self.inserted(org, service_id, dedup_key, alert_id);
        self.imported = true;
    }

    /// Whether `key` was found absent in this transaction; it no longer counts as absent,
    /// since the caller is about to insert it.
    pub(crate) fn take_absent(&mut self, key: &KeyText) -> bool {
        self.absent.remove(key)
    }
}

/// The alerts of `org` named by `(service_id, dedup_key)`; keys not found are remembered as
/// absent in `tx`.
pub(crate) fn find(writer: &Writer, tx: &mut TxKeys, org: OrgId, keys: &[(String, String)]) -> StoreResult<Vec<Alert>> {
    let (connection, recent) = (&writer.connection, &writer.keys);
    let wanted: HashSet<(&str, &str)> = keys.iter().map(|(service, dedup)| (service.as_str(), dedup.as_str())).collect();
    let hashes: Vec<u64> = keys.iter().map(|(service, dedup)| key_hash(org.0, service, dedup)).collect();
    let in_memory: BTreeSet<i64> =
        hashes.iter().flat_map(|hash| with_hash(&recent.entries, *hash).chain(with_hash(&tx.inserted, *hash))).collect();
    let mut found = Vec::with_capacity(keys.len());
    let mut named = HashSet::new();
    let mut keep = |alerts: Vec<Alert>, found: &mut Vec<Alert>| {
        for alert in alerts {
            if wanted.contains(&(alert.service_id.as_str(), alert.dedup_key.as_str())) && named.insert(alert.id) {
                found.push(alert);
            }
        }
    };
    let ids: Vec<i64> = in_memory.into_iter().collect();
    for chunk in statement_chunks(&ids) {
        let mut query = query(alerts_of_org_sql());
        query.push_bind(org.0).push(" AND id IN ").push_list(chunk);
        keep(query.fetch_decoded(connection, |row| codec::alert(row))?, &mut found);
    }
    // Keys found in memory are not in the table (a key names one alert).
    let found_keys = keys_of(&found);
    let on_disk: Vec<i64> = keys
        .iter()
        .zip(&hashes)
        .filter(|((service, dedup), _)| !found_keys.contains(&(service.as_str(), dedup.as_str())))
        .map(|(_, hash)| stored(*hash))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in statement_chunks(&on_disk) {
        let mut query = query(alerts_of_org_sql());
        query.push_bind(org.0).push(" AND id IN (SELECT alert_id FROM alert_keys WHERE key_hash IN ").push_list(chunk).push(")");
        keep(query.fetch_decoded(connection, |row| codec::alert(row))?, &mut found);
    }
    let found_keys = keys_of(&found);
    for (service, dedup) in keys {
        if !found_keys.contains(&(service.as_str(), dedup.as_str())) {
            tx.absent.insert((org.0, service.clone(), dedup.clone()));
        }
    }
    Ok(found)
}

/// The (service, dedup key) of each alert.
fn keys_of(alerts: &[Alert]) -> HashSet<(&str, &str)> {
    alerts.iter().map(|alert| (alert.service_id.as_str(), alert.dedup_key.as_str())).collect()
}

/// `+org_id`: without the `+` SQLite walks every alert of the org through an index on
/// `org_id` and tests each against the list, instead of looking the few ids up.
fn alerts_of_org_sql() -> String {
    format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE +org_id = ")
}

/// Writes the keys of `buckets` (from memory and from `tx`) into `alert_keys` and records
/// through which alert each bucket is complete. Runs inside the committing transaction; an
/// import's alerts are checked for duplicate keys first.
pub(crate) fn write(connection: &Connection, recent: &RecentKeys, tx: &TxKeys, buckets: &[u64]) -> StoreResult<()> {
    if tx.imported {
        let duplicate: Option<i64> =
            query("SELECT 1 FROM alerts GROUP BY org_id, service_id, dedup_key HAVING COUNT(*) > 1 LIMIT 1")
                .fetch_scalar(connection)?;
        if duplicate.is_some() {
            return Err(StoreError::Conflict { what: "alert with this dedup key".into() });
        }
    }
    for bucket in buckets {
        let range = bucket_range(*bucket);
        let mut keys: Vec<(u64, i64)> = recent.entries.range(range.clone()).chain(tx.inserted.range(range)).copied().collect();
        keys.sort_unstable();
        for chunk in statement_chunks(&keys) {
            let mut query = query("INSERT OR IGNORE INTO alert_keys (key_hash, alert_id) ");
            query.push_values(chunk, |row, (hash, id)| {
                row.push_bind(stored(*hash)).push_bind(*id);
            });
            query.execute(connection).map_err(backend)?;
        }
        query("UPDATE alert_key_buckets SET through_alert_id = (SELECT COALESCE(MAX(id), 0) FROM alerts) WHERE bucket = ?")
            .bind(*bucket as i64)
            .execute(connection)
            .map_err(backend)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Durability, SqliteStore};
    use staunch_store::{NewAlert, Store};

    fn new_alert(org: OrgId, service: &str, dedup_key: &str) -> NewAlert {
        staunch_store::conformance::new_alert(org, service, dedup_key, None)
    }

    /// Small enough that every few commits write a bucket, and a reopen writes them all.
    const SMALL_MEMORY: usize = 16;

    fn key(number: usize) -> (String, String) {
        (format!("service-{}", number % 3), format!("{:016x}", key_hash(0, "fingerprint", &number.to_string())))
    }

    async fn open(path: &std::path::Path) -> SqliteStore {
        SqliteStore::open_with_key_memory(path.to_str().unwrap(), Durability::Normal, SMALL_MEMORY).await.unwrap()
    }

    /// Inserts alerts `range` in commits of `per_commit`, returning their ids by number.
    async fn insert(store: &SqliteStore, range: std::ops::Range<usize>, per_commit: usize) -> Vec<(usize, i64)> {
        let mut ids = Vec::new();
        let numbers: Vec<usize> = range.collect();
        for chunk in numbers.chunks(per_commit) {
            let mut tx = store.begin().await.unwrap();
            let alerts: Vec<NewAlert> =
                chunk.iter().map(|number| new_alert(OrgId::DEFAULT, &key(*number).0, &key(*number).1)).collect();
            let inserted = tx.insert_alerts(&alerts).await.unwrap();
            tx.commit().await.unwrap();
            ids.extend(chunk.iter().copied().zip(inserted));
        }
        ids
    }

    /// Every key finds its own alert, and inserting it again is a conflict.
    async fn check_all_found(store: &SqliteStore, ids: &[(usize, i64)]) {
        let mut tx = store.begin().await.unwrap();
        let keys: Vec<(String, String)> = ids.iter().map(|(number, _)| key(*number)).collect();
        let found = tx.alerts_by_dedup_keys(OrgId::DEFAULT, &keys).await.unwrap();
        let mut found: Vec<(String, String, i64)> =
            found.into_iter().map(|alert| (alert.service_id, alert.dedup_key, alert.id)).collect();
        found.sort();
        let mut expected: Vec<(String, String, i64)> =
            ids.iter().map(|(number, id)| (key(*number).0, key(*number).1, *id)).collect();
        expected.sort();
        assert_eq!(found, expected);
        for (number, _) in ids.iter().step_by(7) {
            let (service, dedup) = key(*number);
            let again = tx.insert_alert(&new_alert(OrgId::DEFAULT, &service, &dedup)).await;
            assert!(matches!(again, Err(StoreError::Conflict { .. })), "key {number}: {again:?}");
        }
        let other_org = tx.alerts_by_dedup_keys(OrgId(2), &keys).await.unwrap();
        assert!(other_org.is_empty(), "another organisation sees none of them");
    }

    async fn keys_written(store: &SqliteStore) -> i64 {
        let count = store.readers.read(|connection| query("SELECT COUNT(*) FROM alert_keys").fetch_scalar(connection));
        count.await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn keys_are_found_in_memory_in_the_table_and_after_a_reopen() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("staunch.db");
        let store = open(&path).await;
        let ids = insert(&store, 0..300, 5).await;
        let written = keys_written(&store).await;
        assert!(written > 0, "commits over the memory limit wrote buckets");
        assert!(store.writer.lock().await.as_ref().unwrap().keys.len() > 0, "the latest keys are still in memory");
        check_all_found(&store, &ids).await;

        store.close().await;
        let store = open(&path).await;
        check_all_found(&store, &ids).await;
        let more = insert(&store, 300..340, 40).await;
        check_all_found(&store, &[ids, more].concat()).await;
    }

    #[tokio::test]
    async fn a_rolled_back_insert_leaves_no_key_behind() {
        let directory = tempfile::tempdir().unwrap();
        let store = open(&directory.path().join("staunch.db")).await;
        let kept = insert(&store, 0..40, 40).await;
        {
            let mut tx = store.begin().await.unwrap();
            tx.insert_alerts(&[new_alert(OrgId::DEFAULT, &key(1000).0, &key(1000).1)]).await.unwrap();
            // dropped without commit
        }
        let mut tx = store.begin().await.unwrap();
        assert!(tx.alerts_by_dedup_keys(OrgId::DEFAULT, &[key(1000)]).await.unwrap().is_empty());
        tx.insert_alerts(&[new_alert(OrgId::DEFAULT, &key(1000).0, &key(1000).1)]).await.unwrap();
        tx.commit().await.unwrap();
        check_all_found(&store, &kept).await;
    }

    #[tokio::test]
    async fn one_insert_cannot_carry_the_same_key_twice() {
        let directory = tempfile::tempdir().unwrap();
        let store = open(&directory.path().join("staunch.db")).await;
        let mut tx = store.begin().await.unwrap();
        let twice = [new_alert(OrgId::DEFAULT, "checkout", "same"), new_alert(OrgId::DEFAULT, "checkout", "same")];
        assert!(matches!(tx.insert_alerts(&twice).await, Err(StoreError::Conflict { .. })));
        let other_orgs = [new_alert(OrgId::DEFAULT, "checkout", "same"), new_alert(OrgId(2), "checkout", "same")];
        tx.insert_alerts(&other_orgs).await.unwrap();
    }

    /// A database whose alerts have no keys written (as after the migration that made the
    /// table) gets them all at the next open.
    #[tokio::test]
    async fn keys_missing_from_the_table_are_written_when_the_writer_opens() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("staunch.db");
        let store = open(&path).await;
        let ids = insert(&store, 0..200, 50).await;
        let tx = store.begin_write().await.unwrap();
        tx.connection()
            .unwrap()
            .execute_batch("DELETE FROM alert_keys; UPDATE alert_key_buckets SET through_alert_id = 0")
            .unwrap();
        tx.commit_now().unwrap();
        store.close().await;

        let store = open(&path).await;
        assert_eq!(keys_written(&store).await, 200);
        assert_eq!(store.writer.lock().await.as_ref().unwrap().keys.len(), 0);
        check_all_found(&store, &ids).await;
    }

    /// The lookups read the alerts they name by id, not every alert of the organisation.
    #[tokio::test]
    async fn lookups_go_straight_to_the_alerts_they_name() {
        let directory = tempfile::tempdir().unwrap();
        let store = open(&directory.path().join("staunch.db")).await;
        insert(&store, 0..50, 50).await;
        let writer = store.writer.lock().await;
        let connection = &writer.as_ref().unwrap().connection;
        for sql in [
            format!("{}1 AND id IN (1, 2)", alerts_of_org_sql()),
            format!("{}1 AND id IN (SELECT alert_id FROM alert_keys WHERE key_hash IN (1, 2))", alerts_of_org_sql()),
        ] {
            let plan: Vec<String> = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([], |row| row.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(plan.iter().any(|step| step.contains("alerts USING INTEGER PRIMARY KEY")), "{sql}: {plan:?}");
        }
    }

    /// An import writes its alerts' keys, and refuses a file that gives two alerts one key.
    #[tokio::test]
    async fn imported_alerts_are_found_by_key_and_duplicates_are_refused() {
        let directory = tempfile::tempdir().unwrap();
        let source = open(&directory.path().join("source.db")).await;
        let ids = insert(&source, 0..100, 25).await;
        let mut file = Vec::new();
        staunch_store::dump::export_to(&source, &mut file, jiff::Timestamp::UNIX_EPOCH).await.unwrap();

        let target = open(&directory.path().join("target.db")).await;
        staunch_store::dump::import_from(&target, &mut file.as_slice(), None).await.unwrap();
        assert_eq!(keys_written(&target).await, 100, "far over the memory limit: all written at commit");
        check_all_found(&target, &ids).await;

        // The same alert twice under two ids: the commit refuses it.
        let table = staunch_store::dump::table_named("alerts").unwrap();
        let row = {
            let writer = source.writer.lock().await;
            let sql = format!("SELECT {} FROM alerts ORDER BY id LIMIT 1", table.column_list());
            let row = query(sql).fetch_optional(&writer.as_ref().unwrap().connection).unwrap().unwrap();
            staunch_store::dump::row_to_json(table, &row).unwrap()
        };
        let mut copy = row.clone();
        copy["id"] = serde_json::json!(999_999);
        let rows =
            vec![staunch_store::dump::row_cells(table, row).unwrap(), staunch_store::dump::row_cells(table, copy).unwrap()];
        let third = open(&directory.path().join("third.db")).await;
        let mut tx = third.begin().await.unwrap();
        tx.import_rows(table, &rows).await.unwrap();
        let refused = tx.commit().await;
        assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
        let mut tx = third.begin().await.unwrap();
        assert!(tx.tables_with_rows().await.unwrap().is_empty(), "nothing of it was kept");
    }

    #[test]
    fn buckets_cover_the_hash_space_without_overlap() {
        assert_eq!(*bucket_range(0).start(), (0, i64::MIN));
        assert_eq!(*bucket_range(BUCKETS - 1).end(), (u64::MAX, i64::MAX));
        for bucket in 1..BUCKETS {
            assert_eq!(bucket_range(bucket - 1).end().0 + 1, bucket_range(bucket).start().0);
        }
        let hash = key_hash(1, "checkout", "abc");
        assert!(bucket_range(bucket_of(hash)).contains(&(hash, 7)));
    }

    /// The hash is on disk: this pins it.
    #[test]
    fn the_key_hash_never_changes() {
        assert_eq!(key_hash(1, "checkout", "abc"), key_hash(1, "checkout", "abc"));
        assert_ne!(key_hash(1, "checkout", "abc"), key_hash(2, "checkout", "abc"));
        assert_ne!(key_hash(1, "check", "outabc"), key_hash(1, "checkout", "abc"));
        // FNV-1a then SplitMix64's finaliser, computed independently of this code.
        assert_eq!(format!("{:016x}", key_hash(1, "checkout", "abc")), "57aa17aff4d8aff0");
    }
}

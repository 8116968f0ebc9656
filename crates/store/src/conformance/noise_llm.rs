//! Conformance cases for the alert-noise history and the language-model audit rows.

use super::{at, create_incident};
use crate::*;
use staunch_domain::noise::{Outcome, label_as_of};
use std::sync::Arc;

pub(crate) fn new_exchange(org: OrgId, incident_id: i64, purpose: &str) -> NewLlmExchange {
    NewLlmExchange {
        org,
        incident_id: Some(incident_id),
        purpose: purpose.into(),
        provider: "primary".into(),
        model: "small-model".into(),
        prompt: "summarise: naïve — ünïcode".into(),
        response: None,
        error: Some("timed out after 10s".into()),
        started_at: at(100),
        finished_at: at(110),
    }
}

fn entry(org: OrgId, incident_id: i64, seconds: i64, actor: Actor, kind: &str, data: serde_json::Value) -> NewTimelineEntry {
    NewTimelineEntry { org, incident_id, at: at(seconds), actor, kind: kind.into(), data }
}

fn user(name: &str) -> Actor {
    Actor { kind: "user".into(), id: name.into() }
}

fn integration() -> Actor {
    Actor::integration("api", staunch_domain::alert::SourceFormat::Alertmanager)
}

pub async fn noise_history_labels_openings_with_what_was_known_before_the_cut(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let other = store.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap()[0];
    // (group, opened at, timeline after the opening: (at, actor, kind))
    let acked = create_incident(&store, org, "api", "acked", at(0)).await;
    let flapped = create_incident(&store, org, "api", "flapped", at(10)).await;
    let late_ack = create_incident(&store, org, "api", "late-ack", at(20)).await;
    let sender_ack = create_incident(&store, org, "api", "sender-ack", at(30)).await;
    let still_open = create_incident(&store, org, "api", "open", at(40)).await;
    let ticket = create_incident(&store, org, "api", "ticket:flapped", at(50)).await;
    let acted_ticket = create_incident(&store, org, "api", "ticket:acted", at(60)).await;
    let after_cut = create_incident(&store, org, "api", "after", at(1000)).await;
    let elsewhere = create_incident(&store, other, "api", "acked", at(0)).await;
    let opened = |id: i64, org: OrgId, seconds: i64| {
        let labels = serde_json::json!({"labels": {"alertname": "DiskFlap", "team": "core"}, "dedup_key": "x"});
        entry(org, id, seconds, integration(), "incident.opened", labels)
    };
    let mut tx = store.begin().await.unwrap();
    tx.append_timeline_entries(&[
        opened(acked.id, org, 0),
        entry(org, acked.id, 5, user("alice"), "incident.acknowledged", serde_json::json!({})),
        opened(flapped.id, org, 10),
        entry(org, flapped.id, 12, integration(), "alert.resolved", serde_json::json!({})),
        entry(org, flapped.id, 12, integration(), "incident.resolved", serde_json::json!({})),
        opened(late_ack.id, org, 20),
        entry(org, late_ack.id, 25, integration(), "alert.resolved", serde_json::json!({})),
        // After the cut: the read must not see it.
        entry(org, late_ack.id, 600, user("bob"), "note.added", serde_json::json!({})),
        opened(sender_ack.id, org, 30),
        entry(org, sender_ack.id, 31, integration(), "incident.acknowledged", serde_json::json!({})),
        entry(org, sender_ack.id, 32, Actor::system(), "escalation.paged", serde_json::json!({})),
        opened(still_open.id, org, 40),
        entry(org, still_open.id, 41, Actor::system(), "escalation.paged", serde_json::json!({})),
        opened(ticket.id, org, 50),
        entry(org, ticket.id, 52, integration(), "incident.resolved", serde_json::json!({})),
        opened(acted_ticket.id, org, 60),
        entry(org, acted_ticket.id, 61, user("carol"), "note.added", serde_json::json!({})),
        opened(after_cut.id, org, 1000),
        opened(elsewhere.id, other, 0),
    ])
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let cut = at(500);
    let history = store.noise_history(org, at(-100), cut, 1000).await.unwrap();
    let ids: Vec<i64> = history.iter().map(|alert| alert.incident_id).collect();
    assert_eq!(
        ids,
        vec![acked.id, flapped.id, late_ack.id, sender_ack.id, still_open.id, acted_ticket.id],
        "tickets nobody acted on, later openings and other organisations are left out"
    );
    let labels: Vec<Option<Outcome>> = history.iter().map(|alert| label_as_of(alert, cut)).collect();
    assert_eq!(
        labels,
        vec![
            Some(Outcome::Actionable),
            Some(Outcome::Noise),
            Some(Outcome::Noise),
            Some(Outcome::Actionable),
            None,
            Some(Outcome::Actionable)
        ]
    );
    assert_eq!(history[2].first_human_action_at, None, "a note after the cut is not read");
    assert_eq!(history[1].resolved_at, Some(at(12)));
    let features = &history[0].features;
    assert_eq!(
        (features.service.as_str(), features.format.as_str(), features.alertname().as_str()),
        ("api", "alertmanager", "DiskFlap")
    );
    assert_eq!(features.labels.get("team").map(String::as_str), Some("core"));
    assert_eq!(features.summary, acked.title);

    // With the cut later, the note counts.
    let later = store.noise_history(org, at(-100), at(2000), 1000).await.unwrap();
    let late = later.iter().find(|alert| alert.incident_id == late_ack.id).unwrap();
    assert_eq!(late.first_human_action_at, Some(at(600)));
    assert_eq!(later.len(), 7);
    // `since` and `limit` keep the newest.
    let newest = store.noise_history(org, at(15), cut, 2).await.unwrap();
    assert_eq!(newest.iter().map(|alert| alert.incident_id).collect::<Vec<_>>(), vec![still_open.id, acted_ticket.id]);
    let theirs = store.noise_history(other, at(-100), cut, 1000).await.unwrap();
    assert_eq!(theirs.iter().map(|alert| alert.incident_id).collect::<Vec<_>>(), vec![elsewhere.id]);
}

pub async fn noise_probability_is_kept_on_the_incident(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let mut tx = store.begin().await.unwrap();
    let scored = NewIncident { noise_probability: Some(0.987_654_3), ..super::new_incident(org, "api", "a", at(0)) };
    let inserted = tx.insert_incident(&scored).await.unwrap();
    let unscored = tx.insert_incident(&super::new_incident(org, "api", "b", at(0))).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(inserted.noise_probability, Some(0.987_654));
    let read = store.incident(org, inserted.id).await.unwrap().unwrap();
    assert_eq!(read, inserted);
    assert_eq!(store.incident(org, unscored.id).await.unwrap().unwrap().noise_probability, None);
}

pub async fn llm_exchanges_are_kept_per_incident_and_organisation(store: Arc<dyn Store>) {
    let org = OrgId::DEFAULT;
    let other = store.ensure_organisations(&[(OrgSlug::parse("acme").unwrap(), "Acme".into())]).await.unwrap()[0];
    let incident = create_incident(&store, org, "api", "a", at(0)).await;
    let theirs = create_incident(&store, other, "api", "a", at(0)).await;
    let failed = new_exchange(org, incident.id, "summarise");
    let answered = NewLlmExchange {
        purpose: "rerank".into(),
        provider: "backup".into(),
        response: Some("[\"c2\", \"c1\"]".into()),
        error: None,
        ..new_exchange(org, incident.id, "rerank")
    };
    let first = store.insert_llm_exchange(&failed).await.unwrap();
    let second = store.insert_llm_exchange(&answered).await.unwrap();
    store.insert_llm_exchange(&new_exchange(other, theirs.id, "summarise")).await.unwrap();
    let kept = store.llm_exchanges(org, incident.id).await.unwrap();
    assert_eq!(kept.iter().map(|exchange| exchange.id).collect::<Vec<_>>(), vec![first, second]);
    assert_eq!(kept[0].error.as_deref(), Some("timed out after 10s"));
    assert_eq!(kept[0].prompt, failed.prompt);
    assert_eq!((kept[1].provider.as_str(), kept[1].response.as_deref()), ("backup", answered.response.as_deref()));
    assert_eq!((kept[1].started_at, kept[1].finished_at), (at(100), at(110)));
    assert!(store.llm_exchanges(other, incident.id).await.unwrap().is_empty(), "another organisation sees nothing");
    assert_eq!(store.llm_exchanges(other, theirs.id).await.unwrap().len(), 1);
}

//! Similar past incident hypotheses: a past incident resembles this one by the words they
//! share (title, alert text and label values, notes) and by service.
//!
//! strength = 0.45 × (0.75 × dice(words) + 0.25 × same service), times 0.6 when the past
//! incident is not resolved yet (what fixed it is not known). The 0.45: alert rules fire
//! again with the same words, so resemblance says the symptom is familiar and what may fix
//! it, not that the cause is the same; it can lead only when no change or service is
//! stronger. The database's full-text search picked the
//! candidates; the score here is recomputed from words so it does not depend on the
//! backend's ranking function. The runbook that worked there is suggested.

use super::words::{self, dice, shared};
use super::{Hypothesis, HypothesisKind, InvestigationInput, Visible};

/// What a perfect resemblance is worth (see the module doc).
const RESEMBLANCE_WEIGHT: f64 = 0.45;

pub(crate) fn rank(input: &InvestigationInput<'_>, seen: &Visible<'_>) -> Vec<Hypothesis> {
    input
        .similar
        .iter()
        .filter(|past| past.opened_at < input.as_of && past.id != input.incident.id)
        .map(|past| {
            let past_words = words::words(&format!("{} {}", past.title, past.text));
            let similarity = dice(&seen.incident_words, &past_words);
            let same_service = past.service_id == seen.incident_service;
            let mut strength = RESEMBLANCE_WEIGHT * (0.75 * similarity + if same_service { 0.25 } else { 0.0 });
            let mut evidence_for = Vec::new();
            let mut evidence_against = Vec::new();
            let common = shared(&seen.incident_words, &past_words);
            if common.is_empty() {
                evidence_against.push("no words in common".to_string());
            } else {
                evidence_for.push(format!("words in common (similarity {similarity:.2}): {}", common.join(", ")));
            }
            if same_service {
                evidence_for.push(format!("same service ({})", past.service_id));
            } else {
                evidence_against.push(format!("a different service ({})", past.service_id));
            }
            if !past.resolved {
                strength *= 0.6;
                evidence_against.push("not resolved yet: what fixed it is unknown".to_string());
            }
            match &past.mitigation_runbook {
                Some(runbook) => evidence_for.push(format!("runbook {runbook} worked there")),
                None => evidence_against.push("no runbook is recorded as having worked there".to_string()),
            }
            if let Some(cause) = &past.caused_by {
                evidence_for.push(format!("it followed a change of {}: {}", cause.service_id, cause.summary));
            }
            Hypothesis {
                kind: HypothesisKind::SimilarIncident,
                title: format!("like incident #{}: {}", past.id, past.title),
                service_id: Some(past.service_id.clone()),
                change_id: None,
                incident_id: Some(past.id),
                strength,
                confidence: 0.0,
                evidence_for,
                evidence_against,
                suggested_runbook: past.mitigation_runbook.clone(),
            }
        })
        .collect()
}

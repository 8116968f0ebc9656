//! The blameless check over a labelled list of sentences: every blaming one should be
//! flagged and no blameless one. The confusion counts are printed (`--nocapture`).

use super::*;

fn people() -> PersonNames {
    PersonNames::new([("alice", "Alice Martin"), ("bob", "Bob Stone"), ("carol", "Carol Diaz"), ("dave", "Dave")])
}

const BLAMING: &[&str] = &[
    "Bob broke prod.",
    "The outage was caused by Alice's mistake.",
    "Human error by the on-call engineer.",
    "Carol forgot to renew the TLS certificate.",
    "The deploy was careless.",
    "Dave should have known the cache was cold.",
    "Bob accidentally broke the checkout flow.",
    "The on-call engineer forgot to check the dashboard.",
    "Alice failed to follow the runbook.",
    "The incident was caused by Bob.",
    "It was Carol's fault.",
    "The developer ignored the failing test.",
    "We forgot to scale the database before the sale.",
    "The intern took down the payment service.",
    "Someone messed up the config.",
    "Bob didn't check the migration before running it.",
    "The root cause was operator error.",
    "Alice's mistake deleted the index.",
    "He missed the alert because he was asleep.",
    "The outage was the result of Dave's negligence.",
    "The engineer who deployed should have known better.",
    "Carol made a mistake in the YAML.",
    "The bad rollout was introduced by Bob.",
    "This was a sloppy change by the team.",
    "I broke staging again.",
    "Alice should have tested the change.",
    "The SRE overlooked the disk warning.",
    "Bob is to blame for the downtime.",
    "The error by @alice took the API down.",
];

const BLAMELESS: &[&str] = &[
    "A deploy of version 1.4 removed the index.",
    "The alert did not fire because the rule used the wrong label.",
    "Alice acknowledged the page at 10:02.",
    "The runbook told the responder to restart the pods.",
    "The connection pool was exhausted after the config change.",
    "Bob rolled back the release at 10:15.",
    "The cache failed to refresh after the deploy.",
    "Alice noticed the cache had failed to refresh.",
    "The certificate expired because renewal was not automated.",
    "The on-call engineer restarted the service, which restored traffic.",
    "Carol added a note with the query she ran.",
    "The deploy caused a spike in latency.",
    "The retry loop missed the timeout because the config was stale.",
    "We should have an alert for replication lag.",
    "Dave escalated to the database team.",
    "The incident was acknowledged by Alice.",
    "The migration locked the orders table for four minutes.",
    "Error rates recovered once traffic moved to the fallback provider.",
    "The review checklist has no step for schema changes.",
    "Bob and Carol paired on the fix.",
    "The pipeline did not run the integration tests on this branch.",
    "The page reached the responder three minutes after the burn started.",
    "The health check broke when the endpoint moved.",
    "The team agreed to add a canary stage.",
    "Load shedding brought the error rate down to 1%.",
    "The dashboard did not show the queue depth.",
    "Alice restarted the workers and the backlog drained.",
    "Nobody was paged because the escalation policy had no second level.",
];

#[test]
fn blaming_and_blameless_sentences() {
    let names = people();
    let mut true_positives = 0;
    let mut false_negatives = Vec::new();
    for sentence in BLAMING {
        match check_sentence(sentence, &names) {
            Some(_) => true_positives += 1,
            None => false_negatives.push(*sentence),
        }
    }
    let mut true_negatives = 0;
    let mut false_positives = Vec::new();
    for sentence in BLAMELESS {
        match check_sentence(sentence, &names) {
            None => true_negatives += 1,
            Some(finding) => false_positives.push(format!("{sentence} ({})", finding.matched)),
        }
    }
    println!(
        "blameless check: {} blaming, {} blameless sentences; true positives {true_positives}, false negatives {}, \
         true negatives {true_negatives}, false positives {}",
        BLAMING.len(),
        BLAMELESS.len(),
        false_negatives.len(),
        false_positives.len()
    );
    println!("missed: {false_negatives:?}");
    println!("wrongly flagged: {false_positives:?}");
    assert!(BLAMING.len() >= 25 && BLAMELESS.len() >= 25);
    assert!(false_negatives.is_empty(), "blaming sentences not flagged: {false_negatives:?}");
    assert!(false_positives.is_empty(), "blameless sentences flagged: {false_positives:?}");
}

#[test]
fn findings_carry_a_suggestion_and_the_matched_words() {
    let finding = check_sentence("Carol forgot to renew the TLS certificate.", &people()).expect("flagged");
    assert_eq!(finding.matched, "Carol … forgot");
    assert!(finding.suggestion.contains("safeguard"), "{}", finding.suggestion);
}

#[test]
fn names_match_capitalised_and_ids_in_any_case() {
    let names = PersonNames::new([("will", "Will Grant")]);
    assert!(check_sentence("Will broke the build.", &names).is_some());
    assert!(check_sentence("The change will break nothing.", &names).is_none());
    assert!(check_sentence("As @will said, the disk filled.", &names).is_none());
    assert!(check_sentence("Then @will forgot the flag.", &names).is_some());
}

#[test]
fn text_is_split_into_sentences_keeping_version_numbers() {
    assert_eq!(
        sentences("Deployed 1.4.2 at 10:00. Errors rose, e.g. on checkout! Why?\nNext line"),
        vec!["Deployed 1.4.2 at 10:00.", "Errors rose, e.g. on checkout!", "Why?", "Next line"]
    );
    let findings = check_text("We restarted the pods. Bob broke prod. All good now.", &people());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].sentence, "Bob broke prod.");
}

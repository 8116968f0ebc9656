//! The blameless-language check: finds sentences that make a person the cause of a failure
//! and suggests wording that points at the system instead.
//!
//! Postmortems exist to change the system; a sentence that names a person as the cause teaches
//! people to hide mistakes instead. The check is a small set of transparent heuristics, not a
//! language model, so every finding can be explained:
//!
//! 1. **Blame words** flag a sentence on their own, whoever they name: "human error",
//!    "operator error", "careless", "negligent", "sloppy", "incompetent", "should have known",
//!    "to blame", "someone's fault". They judge a person even when no name follows.
//! 2. **A person as the subject of a failure verb**: a *person signal* followed closely by a
//!    failure verb ("broke", "caused", "forgot", "failed to", "neglected", "ignored", "missed",
//!    "messed up", "mistake", "overlooked", "didn't check", ...). Person signals are the
//!    directory's user ids and names (each part of a name and each id, matched when written
//!    capitalised — "Alice" — or mentioned as `@alice`, so a user called Will does not make
//!    every "will" a person), pronouns that stand for people (he, she, his, her, I, we, you) and roles
//!    (engineer, developer, on-call, operator, responder, intern, someone, ...). "Closely"
//!    means at most three words apart with nothing between them that starts another noun
//!    phrase or clause ("the", "a", "which", "because", ...): "Bob accidentally broke prod" is
//!    flagged, "Alice noticed the cache had failed to refresh" is not — the cache failed, and
//!    Alice noticed.
//! 3. **A person as the agent of a cause**: "caused by", "broken by", "introduced by",
//!    "error by", "mistake by", "triggered by" followed within three words by a person signal
//!    ("the outage was caused by Alice's mistake").
//!
//! What it does not flag is as deliberate: people doing their work ("Alice acknowledged the
//! page at 10:02", "the runbook told the responder to restart the pods"), systems failing ("a
//! deploy of version 1.4 removed the index", "the alert did not fire because ..."). "They" and
//! "it" are not person signals: too often they stand for pods, alerts or services.
//! Known limits: blame phrased without any of these words ("if only Bob had looked") passes,
//! and a user whose name is an ordinary capitalised word at the start of a sentence can be
//! taken for the person.

use serde::Serialize;
use std::collections::BTreeSet;

/// The people the check recognises by name, besides pronouns and roles.
#[derive(Debug, Clone, Default)]
pub struct PersonNames {
    /// User ids, lowercased: matched when capitalised ("Alice") or mentioned ("@alice").
    ids: BTreeSet<String>,
    /// Parts of people's names as written (capitalised): matched only when capitalised, so a
    /// user called "Will" does not turn every "will" into a person.
    names: BTreeSet<String>,
}

impl PersonNames {
    /// From `(user id, display name)` pairs, as the directory lists them.
    pub fn new<'a>(people: impl IntoIterator<Item = (&'a str, &'a str)>) -> PersonNames {
        let mut names = PersonNames::default();
        for (id, name) in people {
            if !id.trim().is_empty() {
                names.ids.insert(id.trim().to_lowercase());
            }
            for part in name.split_whitespace() {
                let part = part.trim_matches(|character: char| !character.is_alphanumeric());
                if part.chars().count() >= 2 && part.chars().next().is_some_and(char::is_uppercase) {
                    names.names.insert(part.to_string());
                }
            }
        }
        names
    }
}

/// One sentence the check objects to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub sentence: String,
    /// The words that made it blame a person, e.g. `Bob … broke`.
    pub matched: String,
    /// Why it reads as blame.
    pub reason: String,
    /// System-focused wording to use instead.
    pub suggestion: String,
}

const BLAME_WORDS: &[(&str, &str)] = &[
    ("human error", "ask what made the error possible: which check, default or interface let it through"),
    ("operator error", "ask what made the error possible: which check, default or interface let it through"),
    ("user error", "describe what the interface allowed and what it should have prevented"),
    ("pilot error", "ask what made the error possible: which check, default or interface let it through"),
    ("careless", "describe the conditions (time pressure, missing guard rails, unclear tooling) instead of a person's care"),
    ("carelessly", "describe the conditions (time pressure, missing guard rails, unclear tooling) instead of a person's care"),
    ("carelessness", "describe the conditions (time pressure, missing guard rails, unclear tooling) instead of a person's care"),
    ("negligent", "describe which safeguard was missing rather than judging a person"),
    ("negligence", "describe which safeguard was missing rather than judging a person"),
    ("sloppy", "describe which review or check did not catch the problem"),
    ("incompetent", "describe what knowledge or tooling was missing and how to provide it"),
    ("incompetence", "describe what knowledge or tooling was missing and how to provide it"),
    ("should have known", "say what information was available, where, and why it was not visible at the time"),
    ("should've known", "say what information was available, where, and why it was not visible at the time"),
    ("to blame", "describe the chain of events and the conditions that allowed it"),
    ("'s fault", "describe the chain of events and the conditions that allowed it"),
    ("fault of", "describe the chain of events and the conditions that allowed it"),
];

/// Failure verbs and nouns that, with a person as their subject, make the person the cause.
const FAILURE_WORDS: &[(&str, &str)] = &[
    ("broke", "name the change and what it did, e.g. \"the deploy of version X removed Y\""),
    ("breaks", "name the change and what it did, e.g. \"the deploy of version X removed Y\""),
    ("break", "name the change and what it did, e.g. \"the deploy of version X removed Y\""),
    ("caused", "name the change or condition that caused it, e.g. \"the config change set the pool size to 0\""),
    ("causes", "name the change or condition that caused it, e.g. \"the config change set the pool size to 0\""),
    ("forgot", "describe the missing safeguard, e.g. \"the release checklist had no step for ...\""),
    ("forget", "describe the missing safeguard, e.g. \"the release checklist had no step for ...\""),
    ("forgets", "describe the missing safeguard, e.g. \"the release checklist had no step for ...\""),
    ("failed to", "describe which step the process lacked, e.g. \"nothing prompted a check of ...\""),
    ("neglected", "describe which step the process lacked, e.g. \"nothing prompted a check of ...\""),
    ("ignored", "describe why the signal did not stand out, e.g. \"the warning was one of 40 on the dashboard\""),
    ("missed", "describe why the signal did not stand out, e.g. \"the warning was one of 40 on the dashboard\""),
    ("overlooked", "describe why the signal did not stand out, e.g. \"the warning was one of 40 on the dashboard\""),
    ("messed up", "name the change and what it did"),
    ("screwed up", "name the change and what it did"),
    ("botched", "name the change and what it did"),
    ("mistake", "describe the action and what in the system let it have this effect"),
    ("mistakes", "describe the action and what in the system let it have this effect"),
    ("took down", "name the change and what it did, e.g. \"the migration locked the orders table\""),
    ("brought down", "name the change and what it did, e.g. \"the migration locked the orders table\""),
    ("didn't check", "describe the check the process lacked, e.g. \"the pipeline did not verify ...\""),
    ("did not check", "describe the check the process lacked, e.g. \"the pipeline did not verify ...\""),
    ("didn't test", "describe the test the pipeline lacked, e.g. \"no test covered ...\""),
    ("did not test", "describe the test the pipeline lacked, e.g. \"no test covered ...\""),
    ("made a mistake", "describe the action and what in the system let it have this effect"),
    ("should have checked", "describe the check the process lacked, e.g. \"the pipeline did not verify ...\""),
    ("should have tested", "describe the test the pipeline lacked, e.g. \"no test covered ...\""),
    ("should have caught", "describe why the signal did not stand out, e.g. \"the warning was one of 40 on the dashboard\""),
    ("should have noticed", "describe why the signal did not stand out, e.g. \"the warning was one of 40 on the dashboard\""),
];

/// Causes whose agent, after "by", is named ("caused by Alice").
const AGENT_WORDS: &[&str] = &["caused", "broken", "introduced", "error", "mistake", "mistakes", "triggered", "fault"];

const PRONOUNS: &[&str] = &["he", "she", "him", "her", "his", "hers", "i", "we", "you", "me", "us", "our", "my", "your"];

const ROLES: &[&str] = &[
    "engineer",
    "engineers",
    "developer",
    "developers",
    "dev",
    "devs",
    "operator",
    "operators",
    "responder",
    "responders",
    "on-call",
    "oncall",
    "admin",
    "administrator",
    "sre",
    "sres",
    "intern",
    "contractor",
    "person",
    "someone",
    "somebody",
    "employee",
    "teammate",
    "colleague",
    "reviewer",
    "team",
    "manager",
];

/// Words that start another noun phrase or clause: a failure verb after one of them has
/// another subject than the person before it.
const BREAKERS: &[&str] = &[
    "the", "a", "an", "this", "that", "these", "those", "which", "who", "whose", "when", "because", "and", "but", "while",
    "after", "before", "since", "so", "then", "until", "its", "their", "it", "they", "service", "system", "deploy", "alert",
];

/// The sentences of `text`: split after `.`, `!`, `?` and at line breaks.
pub fn sentences(text: &str) -> Vec<String> {
    let mut sentences = Vec::new();
    let mut current = String::new();
    let characters: Vec<char> = text.chars().collect();
    for (index, character) in characters.iter().enumerate() {
        if *character == '\n' {
            push_sentence(&mut sentences, &mut current);
            continue;
        }
        current.push(*character);
        let next = characters.get(index + 1).copied();
        // "1.4" and "e.g." keep their dots: a sentence ends at a stop followed by a space or the end.
        if matches!(character, '.' | '!' | '?') && next.is_none_or(char::is_whitespace) && !ends_with_abbreviation(&current) {
            push_sentence(&mut sentences, &mut current);
        }
    }
    push_sentence(&mut sentences, &mut current);
    sentences
}

fn ends_with_abbreviation(text: &str) -> bool {
    let lower = text.to_lowercase();
    ["e.g.", "i.e.", "etc.", "vs."].iter().any(|abbreviation| lower.ends_with(abbreviation))
}

fn push_sentence(sentences: &mut Vec<String>, current: &mut String) {
    let sentence = current.trim();
    if !sentence.is_empty() {
        sentences.push(sentence.to_string());
    }
    current.clear();
}

/// One word of a sentence: lowercased, without surrounding punctuation, and whether it was
/// written capitalised or as a possessive ("Alice's").
#[derive(Debug, Clone)]
struct Word {
    lower: String,
    original: String,
    /// Written as `@name`.
    mention: bool,
}

fn words(sentence: &str) -> Vec<Word> {
    sentence
        .split(|character: char| character.is_whitespace() || matches!(character, ',' | ';' | ':' | '(' | ')' | '"'))
        .map(|raw| {
            let mention = raw.starts_with('@');
            let raw = raw.trim_matches(|character: char| !(character.is_alphanumeric() || character == '\'' || character == '-'));
            (raw.trim_matches(|character: char| character == '\'' || character == '-'), mention)
        })
        .filter(|(raw, _)| !raw.is_empty())
        .map(|(raw, mention)| {
            let original = raw.replace('’', "'");
            let without_possessive = original.strip_suffix("'s").unwrap_or(&original).to_string();
            Word { lower: without_possessive.to_lowercase(), original: without_possessive, mention }
        })
        .collect()
}

fn is_person(word: &Word, names: &PersonNames) -> bool {
    PRONOUNS.contains(&word.lower.as_str())
        || ROLES.contains(&word.lower.as_str())
        || names.names.contains(&word.original)
        || (names.ids.contains(&word.lower) && (word.mention || word.original.chars().next().is_some_and(char::is_uppercase)))
}

/// Whether `phrase` (one or two lowercased words) starts at word `index`.
fn phrase_at(words: &[Word], index: usize, phrase: &str) -> bool {
    phrase.split(' ').enumerate().all(|(offset, part)| words.get(index + offset).is_some_and(|word| word.lower == part))
}

/// The blame in `text`, one finding per sentence at most.
pub fn check_text(text: &str, names: &PersonNames) -> Vec<Finding> {
    sentences(text).into_iter().filter_map(|sentence| check_sentence(&sentence, names)).collect()
}

/// The first reason `sentence` blames a person, if any.
pub fn check_sentence(sentence: &str, names: &PersonNames) -> Option<Finding> {
    let finding = |matched: String, reason: &str, suggestion: &str| Finding {
        sentence: sentence.to_string(),
        matched,
        reason: reason.to_string(),
        suggestion: suggestion.to_string(),
    };
    let lower = format!(" {} ", sentence.to_lowercase().replace('’', "'"));
    for (phrase, suggestion) in BLAME_WORDS {
        let found = if phrase.starts_with('\'') { lower.contains(phrase) } else { contains_words(&lower, phrase) };
        if found {
            return Some(finding(phrase.to_string(), "judges a person instead of describing what happened", suggestion));
        }
    }
    let words = words(sentence);
    for (person_index, person) in words.iter().enumerate() {
        if !is_person(person, names) {
            continue;
        }
        // A person as the subject of a failure verb close after it.
        for verb_index in person_index..words.len().min(person_index + 4) {
            if verb_index > person_index && BREAKERS.contains(&words[verb_index].lower.as_str()) {
                break;
            }
            for (verb, suggestion) in FAILURE_WORDS {
                if phrase_at(&words, verb_index, verb) && verb_index > person_index {
                    return Some(finding(
                        format!("{} … {verb}", person.original),
                        "makes a person the cause of the failure",
                        suggestion,
                    ));
                }
            }
        }
        // A person as the agent after "caused by", "error by", ...
        let agent_of_cause = (1..=3).any(|distance| {
            person_index > distance
                && words[person_index - distance].lower == "by"
                && AGENT_WORDS.contains(&words[person_index - distance - 1].lower.as_str())
                && words[person_index - distance + 1..person_index].iter().all(|word| {
                    matches!(word.lower.as_str(), "the" | "a" | "an" | "on-call" | "oncall" | "our" | "that" | "this")
                        || is_person(word, names)
                })
        });
        if agent_of_cause {
            return Some(finding(
                format!("by {}", person.original),
                "names a person as the cause of the failure",
                "name the change or condition that caused it, e.g. \"the config change set the pool size to 0\"",
            ));
        }
    }
    None
}

/// Whether `haystack` (lowercased, padded with spaces) holds `phrase` as whole words.
fn contains_words(haystack: &str, phrase: &str) -> bool {
    let mut start = 0;
    while let Some(found) = haystack[start..].find(phrase) {
        let begin = start + found;
        let end = begin + phrase.len();
        let before = haystack[..begin].chars().next_back();
        let after = haystack[end..].chars().next();
        let boundary = |character: Option<char>| character.is_none_or(|character| !character.is_alphanumeric());
        if boundary(before) && boundary(after) {
            return true;
        }
        start = begin + phrase.len().max(1);
    }
    false
}

#[cfg(test)]
mod tests;

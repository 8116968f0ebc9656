//! Alertmanager label matchers (`name="value"`, `!=`, `=~`, `!~`): parsing and evaluation.
//!
//! This module owns the matcher type and Alertmanager 0.25's classic matcher parser
//! (`pkg/labels/parse.go`), including its tolerances: optional `{…}` wrapping, commas inside
//! quotes, unquoted values, OpenMetrics escapes, and trimming of whitespace around tokens.
//! Regular expressions are anchored as Alertmanager anchors them (`^(?:value)$`) and read with
//! Go's syntax and meaning (see [`go_regex`]). A label that is absent reads as the empty string,
//! so `severity=""` matches alerts without a severity and `severity!="x"` matches them too.

mod go_regex;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::labels::Labels;

/// How a matcher compares a label value. The order is Alertmanager's, which breaks ties when
/// matchers are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchType {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchType {
    /// The operator as written in matcher syntax.
    pub fn operator(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        }
    }

    pub fn is_regex(self) -> bool {
        matches!(self, MatchType::Regex | MatchType::NotRegex)
    }
}

impl fmt::Display for MatchType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.operator())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error("bad matcher format: {text}")]
    BadFormat { text: String },
    #[error("matcher value contains unescaped double quote: {value}")]
    UnescapedDoubleQuote { value: String },
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex { pattern: String, reason: String },
    #[error("invalid label name {name:?}")]
    InvalidLabelName { name: String },
}

/// One label matcher. The regular expression of `=~` and `!~` is compiled once, when the
/// matcher is built, so a `Matcher` that exists is always usable.
#[derive(Clone)]
pub struct Matcher {
    name: String,
    match_type: MatchType,
    value: String,
    /// `Some` exactly when `match_type` is a regex type.
    anchored_regex: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher as Alertmanager's `NewMatcher` does: the label name is taken as given,
    /// and a regex value is compiled anchored at both ends.
    pub fn new(name: impl Into<String>, match_type: MatchType, value: impl Into<String>) -> Result<Matcher, MatcherError> {
        let name = name.into();
        let value = value.into();
        let anchored_regex = if match_type.is_regex() { Some(compile_anchored(&value)?) } else { None };
        Ok(Matcher { name, match_type, value, anchored_regex })
    }

    /// Parses one matcher such as `severity="critical"`, `env=~prod.*` or `team != "a, b"`.
    ///
    /// Follows Alertmanager 0.25's `ParseMatcher`: a label name (`[a-zA-Z_:][a-zA-Z0-9_:]*`),
    /// an operator, and a value that may be wrapped in double quotes, each optionally surrounded
    /// by whitespace. Within the value `\"`, `\n` and `\\` are escapes; any other backslash is
    /// literal, and an unescaped `"` may only open and close the value.
    pub fn parse(text: &str) -> Result<Matcher, MatcherError> {
        let bad_format = || MatcherError::BadFormat { text: text.to_string() };
        let rest = trim_start_go_space(text);
        let name_length = rest
            .char_indices()
            .find(|&(index, character)| !is_matcher_name_character(character, index == 0))
            .map_or(rest.len(), |(index, _)| index);
        if name_length == 0 {
            return Err(bad_format());
        }
        let (name, rest) = rest.split_at(name_length);
        let rest = trim_start_go_space(rest);
        // `=~` is tried before `=`, otherwise the `~` would become part of the value.
        let (match_type, rest) =
            [("=~", MatchType::Regex), ("=", MatchType::Equal), ("!=", MatchType::NotEqual), ("!~", MatchType::NotRegex)]
                .into_iter()
                .find_map(|(operator, match_type)| rest.strip_prefix(operator).map(|rest| (match_type, rest)))
                .ok_or_else(bad_format)?;
        let raw_value = trim_end_go_space(trim_start_go_space(rest));
        let value = unescape_value(raw_value)?;
        Matcher::new(name, match_type, value)
    }

    /// Equality matchers from a legacy `match:` map. Names must be valid Prometheus label names.
    pub fn from_legacy_match(map: &BTreeMap<String, String>) -> Result<Vec<Matcher>, MatcherError> {
        let mut matchers = Vec::with_capacity(map.len());
        for (name, value) in map {
            if !is_valid_label_name(name) {
                return Err(MatcherError::InvalidLabelName { name: name.clone() });
            }
            matchers.push(Matcher::new(name.clone(), MatchType::Equal, value.clone())?);
        }
        Ok(matchers)
    }

    /// Regex matchers from a legacy `match_re:` map.
    ///
    /// Alertmanager compiles each value as `^(?:value)$` while reading the config and then
    /// builds the matcher from that anchored text, so the matcher's value (and therefore route
    /// keys and `amtool` output) carries the anchors: `service: foo` becomes
    /// `service=~"^(?:foo)$"`. Matching is unaffected by the double anchoring.
    pub fn from_legacy_match_re(map: &BTreeMap<String, String>) -> Result<Vec<Matcher>, MatcherError> {
        let mut matchers = Vec::with_capacity(map.len());
        for (name, value) in map {
            if !is_valid_label_name(name) {
                return Err(MatcherError::InvalidLabelName { name: name.clone() });
            }
            // Alertmanager rejects the config when the value alone does not compile.
            compile_anchored(value)?;
            matchers.push(Matcher::new(name.clone(), MatchType::Regex, format!("^(?:{value})$"))?);
        }
        Ok(matchers)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn match_type(&self) -> MatchType {
        self.match_type
    }

    /// The value as given, unescaped. For regex matchers this is the pattern without the
    /// anchors added at compile time (legacy `match_re:` matchers carry Alertmanager's anchors
    /// in the value itself, see [`Matcher::from_legacy_match_re`]).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether `value` satisfies this matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match (self.match_type, &self.anchored_regex) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regex, Some(regex)) => regex.is_match(value),
            (MatchType::NotRegex, Some(regex)) => !regex.is_match(value),
            // Unreachable by construction; failing closed is the safe reading.
            (MatchType::Regex | MatchType::NotRegex, None) => false,
        }
    }

    /// Whether `labels` satisfy this matcher. An absent label reads as the empty string.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        self.matches_value(value)
    }

    /// The order Alertmanager sorts matchers in: by name, then value, then match type.
    pub fn alertmanager_order(&self, other: &Matcher) -> std::cmp::Ordering {
        (self.name.as_str(), self.value.as_str(), self.match_type).cmp(&(
            other.name.as_str(),
            other.value.as_str(),
            other.match_type,
        ))
    }
}

/// Parses a list of matchers as Alertmanager 0.25's `ParseMatchers` does, e.g.
/// `{foo = "bar", dings != "bums", }` or `foo=bar,dings!=bums`.
///
/// One leading `{` and one trailing `}` are dropped. The rest is split at commas outside
/// double quotes (a `\"` does not open or close quotes). An empty or blank final token is
/// ignored, so a trailing comma is allowed; an empty token elsewhere is an error.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, MatcherError> {
    let inner = text.strip_prefix('{').unwrap_or(text);
    let inner = inner.strip_suffix('}').unwrap_or(inner);
    let mut tokens: Vec<&str> = Vec::new();
    let mut inside_quotes = false;
    let mut escaped = false;
    let mut token_start = 0;
    for (index, character) in inner.char_indices() {
        match character {
            ',' if !inside_quotes => {
                tokens.push(&inner[token_start..index]);
                token_start = index + 1;
                // Alertmanager leaves the escape state untouched at a separator.
                continue;
            }
            ',' => {}
            '"' if escaped => escaped = false,
            '"' => inside_quotes = !inside_quotes,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
    }
    let last_token = inner[token_start..].trim();
    if !last_token.is_empty() {
        tokens.push(last_token);
    }
    tokens.into_iter().map(Matcher::parse).collect()
}

/// Renders matchers as Alertmanager's `Matchers.String()` does: `{a="1",b=~"x.*"}`.
pub fn format_matchers(matchers: &[Matcher]) -> String {
    let rendered: Vec<String> = matchers.iter().map(Matcher::to_string).collect();
    format!("{{{}}}", rendered.join(","))
}

/// Whether `name` is a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`), the rule
/// Alertmanager applies to `match:`, `match_re:` and `group_by` names.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut characters = name.chars();
    let Some(first) = characters.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_') && characters.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl fmt::Display for Matcher {
    /// `name`, operator, and the value in double quotes with `\`, newline and `"` escaped:
    /// the form `parse` reads back.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}{}\"", self.name, self.match_type)?;
        for character in self.value.chars() {
            match character {
                '\\' => formatter.write_str(r"\\")?,
                '\n' => formatter.write_str(r"\n")?,
                '"' => formatter.write_str("\\\"")?,
                _ => write!(formatter, "{character}")?,
            }
        }
        formatter.write_str("\"")
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Matcher({self})")
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        // The compiled regex is a function of the value, so it need not be compared.
        self.name == other.name && self.match_type == other.match_type && self.value == other.value
    }
}

impl Eq for Matcher {}

impl std::hash::Hash for Matcher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.match_type.hash(state);
        self.value.hash(state);
    }
}

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Matcher::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn compile_anchored(value: &str) -> Result<Regex, MatcherError> {
    let invalid = |reason: String| MatcherError::InvalidRegex { pattern: value.to_string(), reason };
    // The value is anchored before translation, as Alertmanager anchors before compiling: a
    // value such as `a)|(b` escapes the anchors in Go too, and must parse the same way here.
    let translated = go_regex::translate_go_regex(&format!("^(?:{value})$")).map_err(invalid)?;
    Regex::new(&translated).map_err(|error| invalid(one_line_regex_error(&error)))
}

/// The `regex` crate renders syntax errors over several lines with a caret diagram; keep the
/// line that names the problem.
fn one_line_regex_error(error: &regex::Error) -> String {
    let rendered = error.to_string();
    rendered
        .lines()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| rendered.lines().last().unwrap_or_default().trim().to_string())
}

fn is_matcher_name_character(character: char, first: bool) -> bool {
    character.is_ascii_alphabetic() || character == '_' || character == ':' || (!first && character.is_ascii_digit())
}

/// Go's regexp `\s`, which the matcher grammar uses around tokens: ASCII space, tab, newline,
/// carriage return and form feed (not vertical tab, not Unicode spaces).
fn is_go_space(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\n' | '\r' | '\u{c}')
}

fn trim_start_go_space(text: &str) -> &str {
    text.trim_start_matches(is_go_space)
}

fn trim_end_go_space(text: &str) -> &str {
    text.trim_end_matches(is_go_space)
}

/// Unescapes a raw matcher value, which may be wrapped in double quotes.
fn unescape_value(raw_value: &str) -> Result<String, MatcherError> {
    let unescaped_quote = || MatcherError::UnescapedDoubleQuote { value: raw_value.to_string() };
    let (body, mut expect_closing_quote) = match raw_value.strip_prefix('"') {
        Some(body) => (body, true),
        None => (raw_value, false),
    };
    let mut value = String::with_capacity(body.len());
    let mut escaped = false;
    for (index, character) in body.char_indices() {
        let is_last = index + character.len_utf8() == body.len();
        if escaped {
            escaped = false;
            match character {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(character),
                // A spurious escape keeps its backslash.
                _ => {
                    value.push('\\');
                    value.push(character);
                }
            }
            continue;
        }
        match character {
            '\\' if is_last => value.push('\\'),
            '\\' => escaped = true,
            '"' if expect_closing_quote && is_last => expect_closing_quote = false,
            '"' => return Err(unescaped_quote()),
            _ => value.push(character),
        }
    }
    if expect_closing_quote {
        return Err(unescaped_quote());
    }
    Ok(value)
}

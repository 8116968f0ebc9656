//! A small log template miner in the spirit of Drain (He et al., ICWS 2017): lines are split
//! into tokens, tokens that carry variables (numbers, ids) are masked, and lines are routed by
//! token count, their first tokens and a logger's source location to a leaf of candidate templates; a line joins the most
//! similar template when at least half of its tokens agree, and the positions that disagree
//! become wildcards. Templates are stable ids, so counts before and after an onset compare.

use std::collections::HashMap;

pub const WILDCARD: &str = "<*>";

/// Settings of the miner. The defaults are Drain's published ones (similarity 0.5, a tree of
/// depth 4, i.e. two routing tokens below the length level).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrainSettings {
    pub similarity: f64,
    pub routing_tokens: usize,
    /// Lines longer than this are cut: the tail of a long line is payload, not shape.
    pub max_tokens: usize,
}

impl Default for DrainSettings {
    fn default() -> Self {
        DrainSettings { similarity: 0.5, routing_tokens: 2, max_tokens: 48 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub id: usize,
    pub tokens: Vec<String>,
    pub count: usize,
}

impl Template {
    pub fn text(&self) -> String {
        self.tokens.join(" ")
    }
}

#[derive(Debug, Default)]
pub struct Drain {
    settings: DrainSettings,
    templates: Vec<Template>,
    leaves: HashMap<(usize, Vec<String>), Vec<usize>>,
}

impl Drain {
    pub fn new(settings: DrainSettings) -> Self {
        Drain { settings, templates: Vec::new(), leaves: HashMap::new() }
    }

    /// Adds a line and answers the id of the template it belongs to.
    pub fn add(&mut self, line: &str) -> usize {
        let tokens = tokenize(line, self.settings.max_tokens);
        let key = (tokens.len(), self.routing_key(&tokens));
        let candidates = self.leaves.entry(key).or_default();
        let best = candidates
            .iter()
            .map(|id| (*id, similarity(&self.templates[*id].tokens, &tokens)))
            .filter(|(_, score)| *score >= self.settings.similarity)
            .max_by(|left, right| left.1.total_cmp(&right.1).then_with(|| right.0.cmp(&left.0)));
        if let Some((id, _)) = best {
            let template = &mut self.templates[id];
            for (kept, seen) in template.tokens.iter_mut().zip(&tokens) {
                if kept != seen {
                    *kept = WILDCARD.to_string();
                }
            }
            template.count += 1;
            return id;
        }
        let id = self.templates.len();
        self.templates.push(Template { id, tokens, count: 1 });
        candidates.push(id);
        id
    }

    pub fn template(&self, id: usize) -> Option<&Template> {
        self.templates.get(id)
    }

    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// The first tokens route a line; a wildcard there would scatter one shape over many
    /// leaves, so a masked token routes as the wildcard itself. A source location routes too:
    /// lines from two log statements are two templates however alike their words.
    fn routing_key(&self, tokens: &[String]) -> Vec<String> {
        let mut key: Vec<String> = tokens.iter().take(self.settings.routing_tokens).cloned().collect();
        key.extend(tokens.iter().skip(self.settings.routing_tokens).find(|token| is_source_location(token)).cloned());
        key
    }
}

/// Splits on whitespace and the brackets and separators loggers put around values, masking
/// every token that carries a variable.
pub fn tokenize(line: &str, max_tokens: usize) -> Vec<String> {
    line.split(|character: char| character.is_whitespace() || "[](){},;=:\"'".contains(character))
        .filter(|token| !token.is_empty())
        .take(max_tokens)
        .map(|token| if is_variable(token) { WILDCARD.to_string() } else { token.to_string() })
        .collect()
}

/// Numbers, hex ids, UUIDs, IPs and times: anything with a digit in it, except a logger's
/// source location (`RouteController#53`, a class and a line number), which names the log
/// statement itself: two statements of one class differ only there, and masking it merges a
/// code path that stops logging with a sibling that goes on.
fn is_variable(token: &str) -> bool {
    token.chars().any(|character| character.is_ascii_digit()) && !is_source_location(token)
}

fn is_source_location(token: &str) -> bool {
    let Some((class, line)) = token.rsplit_once('#') else { return false };
    let starts_like_a_name = class.chars().next().is_some_and(|character| character.is_ascii_alphabetic());
    starts_like_a_name
        && class.chars().all(|character| character.is_ascii_alphanumeric() || "._$".contains(character))
        && !line.is_empty()
        && line.chars().all(|character| character.is_ascii_digit())
}

/// Share of positions where the template and the line agree (Drain's simSeq). Wildcards in the
/// template agree with nothing, as in Drain, so a template cannot swallow everything.
fn similarity(template: &[String], tokens: &[String]) -> f64 {
    if template.is_empty() {
        return 1.0;
    }
    let equal = template.iter().zip(tokens).filter(|(kept, seen)| kept == seen && kept.as_str() != WILDCARD).count();
    equal as f64 / template.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_one_shape_share_a_template_and_others_do_not() {
        let mut drain = Drain::new(DrainSettings::default());
        let lines = [
            ("INFO OrderController create order 8812 for user alice", "order"),
            ("INFO OrderController create order 991 for user bob", "order"),
            ("INFO OrderController create order 17 for user carol", "order"),
            ("ERROR PriceService price not found for route 44", "price"),
            ("ERROR PriceService price not found for route 45", "price"),
            ("INFO Login succeeded", "login"),
        ];
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for (line, shape) in lines {
            let id = drain.add(line);
            let first = *ids.entry(shape).or_insert(id);
            assert_eq!(id, first, "{line}");
        }
        assert_eq!(drain.templates().len(), 3);
        assert_eq!(drain.template(ids["order"]).unwrap().text(), "INFO OrderController create order <*> for user <*>");
        assert_eq!(drain.template(ids["order"]).unwrap().count, 3);
        assert_eq!(drain.template(ids["price"]).unwrap().text(), "ERROR PriceService price not found for route <*>");
    }

    #[test]
    fn variables_are_masked_before_matching() {
        assert_eq!(
            tokenize("TraceID: 3fa2b9 SpanID: 0x1f [getRoute][id=f3d4d4ef-693b]", 48),
            ["TraceID", "<*>", "SpanID", "<*>", "getRoute", "id", "<*>"]
        );
        assert_eq!(tokenize("a b c d", 2), ["a", "b"]);
    }

    #[test]
    fn a_source_location_is_part_of_the_template() {
        assert_eq!(
            tokenize("11:04:01.2 INFO r.c.RouteController#53 TraceID: 9af0 [getRouteById]", 48),
            ["<*>", "<*>", "<*>", "INFO", "r.c.RouteController#53", "TraceID", "<*>", "getRouteById"]
        );
        assert_eq!(tokenize("order #4411 u1#x #7", 48), ["order", "<*>", "<*>", "<*>"]);
        let mut drain = Drain::new(DrainSettings::default());
        let kept = drain.add("11:04:01.2 INFO r.c.RouteController#53 getRouteById query route by id 7f3a");
        let other = drain.add("11:04:01.9 INFO r.c.RouteController#47 getRouteById query route by id 7f3a");
        assert_eq!(drain.add("11:04:02.5 INFO r.c.RouteController#53 getRouteById query route by id 9c"), kept);
        assert_ne!(kept, other, "two log statements stay two templates");
    }
}

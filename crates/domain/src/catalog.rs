//! The service catalog: Backstage-shaped entities (Component, System, Resource, API) with
//! owners and dependencies, and the dependency graph the investigation walks.
//!
//! **Service ids.** An entity's `metadata.name` is the Staunch service id it describes: a
//! Component named `checkout` is the service `checkout`, whatever its namespace. Namespaces
//! only keep two entities of the same kind and name apart in the catalog itself; for the
//! graph, names are what alerts and change events carry, so two namespaces using one name
//! describe one service.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EntityKind {
    Component,
    System,
    Resource,
    #[serde(rename = "API")]
    Api,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Component => "Component",
            EntityKind::System => "System",
            EntityKind::Resource => "Resource",
            EntityKind::Api => "API",
        }
    }

    /// Backstage kinds are case-insensitive in references (`component:foo`, `Component:foo`).
    pub fn parse(text: &str) -> Option<EntityKind> {
        match text.to_ascii_lowercase().as_str() {
            "component" => Some(EntityKind::Component),
            "system" => Some(EntityKind::System),
            "resource" => Some(EntityKind::Resource),
            "api" => Some(EntityKind::Api),
            _ => None,
        }
    }
}

/// A reference to an entity, `kind:namespace/name` (Backstage's entity ref); in JSON, that
/// string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EntityRef {
    pub kind: EntityKind,
    pub namespace: String,
    pub name: String,
}

impl TryFrom<String> for EntityRef {
    type Error = String;
    fn try_from(text: String) -> Result<EntityRef, String> {
        EntityRef::parse(&text, None)
    }
}

impl From<EntityRef> for String {
    fn from(reference: EntityRef) -> String {
        reference.key()
    }
}

impl EntityRef {
    /// Parses `kind:name` or `kind:namespace/name`; a ref without a kind takes `default_kind`.
    pub fn parse(text: &str, default_kind: Option<EntityKind>) -> Result<EntityRef, String> {
        let (kind, rest) = match text.split_once(':') {
            Some((kind, rest)) => {
                let kind = EntityKind::parse(kind)
                    .ok_or_else(|| format!("unknown kind {kind:?} in {text:?} (expected component, system, resource or api)"))?;
                (kind, rest)
            }
            None => (default_kind.ok_or_else(|| format!("{text:?} names no kind (write component:{text})"))?, text),
        };
        let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
        check_name(namespace).map_err(|problem| format!("namespace in {text:?} {problem}"))?;
        check_name(name).map_err(|problem| format!("name in {text:?} {problem}"))?;
        Ok(EntityRef { kind, namespace: namespace.to_string(), name: name.to_string() })
    }

    /// `component:default/checkout`, lowercase kind as Backstage writes refs.
    pub fn key(&self) -> String {
        format!("{}:{}/{}", self.kind.as_str().to_ascii_lowercase(), self.namespace, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntity {
    pub kind: EntityKind,
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// `spec.type` (`service`, `website`, `database`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<EntityRef>,
}

impl CatalogEntity {
    pub fn entity_ref(&self) -> EntityRef {
        EntityRef { kind: self.kind, namespace: self.namespace.clone(), name: self.name.clone() }
    }
    /// The Staunch service this entity describes (see the module doc).
    pub fn service_id(&self) -> &str {
        &self.name
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {problem}")]
pub struct CatalogError {
    /// Where: `entities[3] (component:default/checkout).spec.dependsOn[1]`.
    pub at: String,
    pub problem: String,
}

/// Backstage names: 1–63 characters of `[A-Za-z0-9-_.]`, starting and ending alphanumeric.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err(format!("must be 1 to 63 characters, got {}", name.len()));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !name.chars().all(allowed) {
        return Err(format!("{name:?} may only hold letters, digits, '-', '_' and '.'"));
    }
    let first_last_ok =
        name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !first_last_ok {
        return Err(format!("{name:?} must start and end with a letter or digit"));
    }
    Ok(())
}

/// Checks a whole catalog: names, tags and that no entity appears twice.
pub fn check_catalog(entities: &[CatalogEntity]) -> Result<(), CatalogError> {
    let mut seen = BTreeSet::new();
    for (index, entity) in entities.iter().enumerate() {
        let at = format!("entities[{index}]");
        check_name(&entity.name).map_err(|problem| CatalogError { at: format!("{at}.name"), problem })?;
        check_name(&entity.namespace).map_err(|problem| CatalogError { at: format!("{at}.namespace"), problem })?;
        for (tag_index, tag) in entity.tags.iter().enumerate() {
            if tag.is_empty() || tag.len() > 63 || tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
                let problem = format!("tag {tag:?} must be 1 to 63 characters without spaces");
                return Err(CatalogError { at: format!("{at}.tags[{tag_index}]"), problem });
            }
        }
        let key = entity.entity_ref().key();
        if !seen.insert(key.clone()) {
            return Err(CatalogError { at: format!("{at} ({key})"), problem: "appears more than once".to_string() });
        }
    }
    Ok(())
}

/// Which services depend on which, by service id: `A dependsOn B` is an edge A → B. A
/// component that belongs to a system does not depend on it; systems only group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencyGraph {
    dependencies: BTreeMap<String, BTreeSet<String>>,
    dependents: BTreeMap<String, BTreeSet<String>>,
}

/// How a change's service relates to an incident's service in the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "relation", content = "hops")]
pub enum GraphDistance {
    SameService,
    /// The incident's service depends on the change's, this many `dependsOn` hops away.
    Dependency(u32),
    /// The change's service depends on the incident's (a caller of it), this many hops away.
    Dependent(u32),
    Unrelated,
}

impl DependencyGraph {
    pub fn from_entities(entities: &[CatalogEntity]) -> DependencyGraph {
        let mut graph = DependencyGraph::default();
        for entity in entities {
            for dependency in &entity.depends_on {
                graph.add_edge(entity.service_id(), &dependency.name);
            }
        }
        graph
    }

    pub fn add_edge(&mut self, from: &str, to: &str) {
        if from == to {
            return;
        }
        self.dependencies.entry(from.to_string()).or_default().insert(to.to_string());
        self.dependents.entry(to.to_string()).or_default().insert(from.to_string());
    }

    /// Every `dependsOn` edge as (dependent, dependency).
    pub fn edges(&self) -> impl Iterator<Item = (&str, &str)> {
        self.dependencies.iter().flat_map(|(service, dependencies)| {
            dependencies.iter().map(move |dependency| (service.as_str(), dependency.as_str()))
        })
    }

    pub fn dependencies_of(&self, service: &str) -> impl Iterator<Item = &str> {
        self.dependencies.get(service).into_iter().flatten().map(String::as_str)
    }

    pub fn dependents_of(&self, service: &str) -> impl Iterator<Item = &str> {
        self.dependents.get(service).into_iter().flatten().map(String::as_str)
    }

    /// Dependencies first (a change below the incident's service is the likelier cause),
    /// then dependents; `max_hops` bounds the search.
    pub fn distance(&self, incident_service: &str, change_service: &str, max_hops: u32) -> GraphDistance {
        if incident_service == change_service {
            return GraphDistance::SameService;
        }
        if let Some(hops) = hops(&self.dependencies, incident_service, change_service, max_hops) {
            return GraphDistance::Dependency(hops);
        }
        if let Some(hops) = hops(&self.dependents, incident_service, change_service, max_hops) {
            return GraphDistance::Dependent(hops);
        }
        GraphDistance::Unrelated
    }
}

fn hops(edges: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, max_hops: u32) -> Option<u32> {
    let mut queue = VecDeque::from([(from, 0u32)]);
    let mut visited = BTreeSet::from([from]);
    while let Some((node, depth)) = queue.pop_front() {
        if depth >= max_hops {
            continue;
        }
        for next in edges.get(node).into_iter().flatten() {
            if next == to {
                return Some(depth + 1);
            }
            if visited.insert(next.as_str()) {
                queue.push_back((next.as_str(), depth + 1));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(name: &str, depends_on: &[&str]) -> CatalogEntity {
        CatalogEntity {
            kind: EntityKind::Component,
            namespace: "default".into(),
            name: name.into(),
            description: None,
            tags: vec![],
            owner: None,
            system: None,
            entity_type: None,
            depends_on: depends_on.iter().map(|text| EntityRef::parse(text, None).unwrap()).collect(),
        }
    }

    #[test]
    fn distances_follow_depends_on_first() {
        let graph = DependencyGraph::from_entities(&[
            component("frontend", &["component:checkout"]),
            component("checkout", &["resource:payments-db", "component:default/cart"]),
            component("cart", &[]),
        ]);
        let cases = [
            ("frontend", "frontend", GraphDistance::SameService),
            ("frontend", "checkout", GraphDistance::Dependency(1)),
            ("frontend", "payments-db", GraphDistance::Dependency(2)),
            ("checkout", "frontend", GraphDistance::Dependent(1)),
            ("cart", "frontend", GraphDistance::Dependent(2)),
            ("cart", "payments-db", GraphDistance::Unrelated),
            ("frontend", "unknown", GraphDistance::Unrelated),
        ];
        for (incident, change, expected) in cases {
            assert_eq!(graph.distance(incident, change, 3), expected, "{incident} -> {change}");
        }
        assert_eq!(graph.distance("frontend", "payments-db", 1), GraphDistance::Unrelated);
    }

    #[test]
    fn refs_parse_or_name_the_problem() {
        let cases = [
            ("component:checkout", Ok("component:default/checkout")),
            ("Resource:infra/db", Ok("resource:infra/db")),
            ("api:x", Ok("api:default/x")),
            ("group:team", Err("unknown kind \"group\" in \"group:team\" (expected component, system, resource or api)")),
            ("checkout", Err("\"checkout\" names no kind (write component:checkout)")),
            (
                "component:bad name",
                Err("name in \"component:bad name\" \"bad name\" may only hold letters, digits, '-', '_' and '.'"),
            ),
        ];
        for (text, expected) in cases {
            let got = EntityRef::parse(text, None).map(|reference| reference.key());
            assert_eq!(got.as_deref().map_err(String::as_str), expected, "{text}");
        }
    }

    #[test]
    fn duplicates_are_named() {
        let error = check_catalog(&[component("a", &[]), component("a", &[])]).unwrap_err();
        assert_eq!(error.to_string(), "entities[1] (component:default/a): appears more than once");
    }
}

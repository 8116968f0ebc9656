//! Backstage `catalog-info.yaml` files as catalog entities, for `staunch catalog import`.
//!
//! A file may hold several YAML documents. Kinds Component, System, Resource and API are
//! read (`metadata.name`, `metadata.namespace`, `metadata.tags`, `metadata.description`,
//! `spec.type`, `spec.owner`, `spec.system`, `spec.dependsOn`); other kinds (Group, User,
//! Location, Domain, Template, …) are counted as skipped, because a catalog repository mixes
//! them in. Unknown fields are ignored: Backstage entities carry many we have no use for.
//! Every problem names the file, the document and the field.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use staunch_domain::catalog::{CatalogEntity, EntityKind, EntityRef, check_catalog, check_name};

#[derive(Debug, thiserror::Error)]
pub enum CatalogFileError {
    #[error("{source_name}: {message}")]
    Read { source_name: String, message: String },
    #[error("{source_name} document {document}: {at}: {problem}")]
    Field { source_name: String, document: usize, at: String, problem: String },
    #[error("{0}")]
    Catalog(#[from] staunch_domain::catalog::CatalogError),
}

/// What a set of files held.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ParsedCatalog {
    pub entities: Vec<CatalogEntity>,
    /// `kind name` of documents of kinds Staunch does not use.
    pub skipped: Vec<String>,
    pub files: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntity {
    kind: Option<String>,
    #[serde(default)]
    metadata: RawMetadata,
    #[serde(default)]
    spec: RawSpec,
}

#[derive(Debug, Default, Deserialize)]
struct RawMetadata {
    name: Option<String>,
    namespace: Option<String>,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    #[serde(rename = "type")]
    entity_type: Option<String>,
    owner: Option<String>,
    system: Option<String>,
    #[serde(default)]
    depends_on: Vec<String>,
}

/// Parses the text of one file (`source_name` is how errors name it).
pub fn parse_catalog_text(text: &str, source_name: &str, into: &mut ParsedCatalog) -> Result<(), CatalogFileError> {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let documents: Vec<Option<RawEntity>> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|error| CatalogFileError::Read { source_name: source_name.to_string(), message: error.to_string() })?;
    into.files.push(source_name.to_string());
    for (index, raw) in documents.into_iter().enumerate() {
        let Some(raw) = raw else { continue };
        let document = index + 1;
        let field = |at: &str, problem: String| CatalogFileError::Field {
            source_name: source_name.to_string(),
            document,
            at: at.to_string(),
            problem,
        };
        let Some(kind_text) = raw.kind else {
            return Err(field("kind", "missing".to_string()));
        };
        let Some(name) = raw.metadata.name else {
            return Err(field("metadata.name", "missing".to_string()));
        };
        let Some(kind) = EntityKind::parse(&kind_text) else {
            into.skipped.push(format!("{kind_text} {name}"));
            continue;
        };
        check_name(&name).map_err(|problem| field("metadata.name", problem))?;
        let namespace = raw.metadata.namespace.unwrap_or_else(|| "default".to_string());
        check_name(&namespace).map_err(|problem| field("metadata.namespace", problem))?;
        let mut depends_on = Vec::with_capacity(raw.spec.depends_on.len());
        for (ref_index, text) in raw.spec.depends_on.iter().enumerate() {
            let reference =
                EntityRef::parse(text, None).map_err(|problem| field(&format!("spec.dependsOn[{ref_index}]"), problem))?;
            depends_on.push(reference);
        }
        // Backstage resolves a ref without a namespace in the referring entity's namespace.
        for (reference, text) in depends_on.iter_mut().zip(&raw.spec.depends_on) {
            if !text.contains('/') {
                reference.namespace = namespace.clone();
            }
        }
        let owner = raw.spec.owner.map(|owner| owner.trim().to_string()).filter(|owner| !owner.is_empty());
        into.entities.push(CatalogEntity {
            kind,
            namespace,
            name,
            description: raw.metadata.description,
            tags: raw.metadata.tags,
            owner,
            system: raw.spec.system,
            entity_type: raw.spec.entity_type,
            depends_on,
        });
    }
    Ok(())
}

/// Reads a file, or every `catalog-info.yaml`/`catalog-info.yml` under a directory (in name
/// order), and checks the whole set.
pub fn read_catalog_path(path: &Path) -> Result<ParsedCatalog, CatalogFileError> {
    let mut parsed = ParsedCatalog::default();
    let files = if path.is_dir() { catalog_files(path)? } else { vec![path.to_path_buf()] };
    if files.is_empty() {
        let source_name = path.display().to_string();
        return Err(CatalogFileError::Read { source_name, message: "no catalog-info.yaml found".to_string() });
    }
    for file in files {
        let source_name = file.display().to_string();
        let text = std::fs::read_to_string(&file)
            .map_err(|error| CatalogFileError::Read { source_name: source_name.clone(), message: error.to_string() })?;
        parse_catalog_text(&text, &source_name, &mut parsed)?;
    }
    check_catalog(&parsed.entities)?;
    Ok(parsed)
}

fn catalog_files(directory: &Path) -> Result<Vec<PathBuf>, CatalogFileError> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(current) = pending.pop() {
        let read_error = |error: std::io::Error| CatalogFileError::Read {
            source_name: current.display().to_string(),
            message: error.to_string(),
        };
        for entry in std::fs::read_dir(&current).map_err(read_error)? {
            let path = entry.map_err(read_error)?.path();
            let file_name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            if path.is_dir() && !file_name.starts_with('.') {
                pending.push(path);
            } else if matches!(file_name, "catalog-info.yaml" | "catalog-info.yml") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: team-shop
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: frontend
  tags: [web, checkout-flow]
  annotations:
    github.com/project-slug: acme/frontend
spec:
  type: website
  lifecycle: production
  owner: group:team-web
  system: shop
  dependsOn:
    - component:checkout
    - resource:infra/payments-db
---
kind: Group
metadata:
  name: team-web
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: payments-db
  namespace: infra
spec:
  type: database
  owner: team-dba
"#;

    fn parse(text: &str) -> Result<ParsedCatalog, String> {
        let mut parsed = ParsedCatalog::default();
        parse_catalog_text(text, "catalog-info.yaml", &mut parsed).map_err(|error| error.to_string())?;
        check_catalog(&parsed.entities).map_err(|error| error.to_string())?;
        Ok(parsed)
    }

    #[test]
    fn reads_the_kinds_staunch_uses_and_skips_the_rest() {
        let parsed = parse(SHOP).unwrap();
        let keys: Vec<String> = parsed.entities.iter().map(|entity| entity.entity_ref().key()).collect();
        assert_eq!(keys, ["system:default/shop", "component:default/frontend", "resource:infra/payments-db"]);
        assert_eq!(parsed.skipped, ["Group team-web"]);
        let frontend = &parsed.entities[1];
        assert_eq!(frontend.owner.as_deref(), Some("group:team-web"));
        assert_eq!(frontend.system.as_deref(), Some("shop"));
        assert_eq!(frontend.entity_type.as_deref(), Some("website"));
        assert_eq!(frontend.tags, ["web", "checkout-flow"]);
        let dependencies: Vec<String> = frontend.depends_on.iter().map(EntityRef::key).collect();
        assert_eq!(dependencies, ["component:default/checkout", "resource:infra/payments-db"]);
    }

    #[test]
    fn bad_documents_name_file_document_and_field() {
        let cases = [
            ("kind: Component\nmetadata: {}\n", "catalog-info.yaml document 1: metadata.name: missing"),
            ("metadata: {name: a}\n", "catalog-info.yaml document 1: kind: missing"),
            (
                "kind: Component\nmetadata: {name: a}\n---\nkind: Component\nmetadata: {name: b}\nspec: {dependsOn: [group:x]}\n",
                "catalog-info.yaml document 2: spec.dependsOn[0]: unknown kind \"group\" in \"group:x\" (expected component, system, resource or api)",
            ),
            (
                "kind: Component\nmetadata: {name: \"bad name\"}\n",
                "catalog-info.yaml document 1: metadata.name: \"bad name\" may only hold letters, digits, '-', '_' and '.'",
            ),
            (
                "kind: API\nmetadata: {name: a}\n---\nkind: api\nmetadata: {name: a}\n",
                "entities[1] (api:default/a): appears more than once",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap_err(), expected, "{text}");
        }
    }

    #[test]
    fn reads_every_catalog_info_under_a_directory() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(directory.path().join("b/nested")).unwrap();
        std::fs::write(directory.path().join("b/nested/catalog-info.yaml"), "kind: Component\nmetadata: {name: inner}\n")
            .unwrap();
        std::fs::write(directory.path().join("catalog-info.yml"), "kind: Component\nmetadata: {name: outer}\n").unwrap();
        std::fs::write(directory.path().join("other.yaml"), "not: a catalog").unwrap();
        let parsed = read_catalog_path(directory.path()).unwrap();
        let names: Vec<&str> = parsed.entities.iter().map(|entity| entity.name.as_str()).collect();
        assert_eq!(names, ["inner", "outer"]);
    }
}

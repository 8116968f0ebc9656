//! Several tenants in one file: each organisation has its own directory, integration keys
//! name their tenant, and mistakes are reported with the organisation in the field path.

use staunch_config::parse_config;
use staunch_config::secret_digest;
use staunch_domain::tenant::{OrgId, OrgSlug};

const TWO_ORGANISATIONS: &str = r#"
users:
  - id: alice
services:
  - id: checkout
    integrations:
      - type: events_v2
        key: default-key-0123456789
organisations:
  - id: globex
    name: Globex Corporation
    users:
      - id: alice
      - id: hank
    services:
      - id: checkout
        integrations:
          - type: alertmanager
            key: globex-key-0123456789
"#;

#[test]
fn each_organisation_has_its_own_directory() {
    let mut config = parse_config(TWO_ORGANISATIONS, "test").unwrap();
    let slugs: Vec<&str> = config.organisations.iter().map(|organisation| organisation.slug.as_str()).collect();
    assert_eq!(slugs, ["default", "globex"]);
    assert_eq!(config.organisation("globex").unwrap().name, "Globex Corporation");
    assert_eq!(config.default_directory().users.len(), 1);

    // Until the database has numbered it, the second organisation cannot be reached.
    let globex_key = secret_digest("globex-key-0123456789");
    assert!(config.integration(&globex_key).is_none());
    assert!(config.directory(OrgId(7)).users.is_empty());

    config.bind_org_ids(&[(OrgSlug::parse("globex").unwrap(), OrgId(7))]);
    let (org, integration) = config.integration(&globex_key).unwrap();
    assert_eq!((org, integration.service_id.as_str()), (OrgId(7), "checkout"));
    let (org, _) = config.integration(&secret_digest("default-key-0123456789")).unwrap();
    assert_eq!(org, OrgId::DEFAULT);
    assert!(config.directory(OrgId(7)).users.contains_key("hank"));
    assert!(!config.directory(OrgId::DEFAULT).users.contains_key("hank"));
}

fn problems(text: &str) -> String {
    parse_config(text, "test").expect_err("config should be refused").to_string()
}

#[test]
fn mistakes_name_the_organisation() {
    let reused_key = r#"
services:
  - id: checkout
    integrations:
      - type: events_v2
        key: shared-key-0123456789
organisations:
  - id: globex
    services:
      - id: checkout
        integrations:
          - type: events_v2
            key: shared-key-0123456789
"#;
    assert!(
        problems(reused_key)
            .contains("organisations.globex.services: an integration key is also used by organisation \"default\"")
    );

    let unknown_team = "organisations:\n  - id: globex\n    services:\n      - id: api\n        team: nobody\n";
    assert!(problems(unknown_team).contains("organisations.globex.services.api.team: unknown team \"nobody\""));

    let bad_slug = "organisations:\n  - id: Globex Corp\n";
    assert!(problems(bad_slug).contains("organisations[0].id: \"Globex Corp\" is not an organisation slug"));

    let twice = "organisations:\n  - id: globex\n  - id: globex\n";
    assert!(problems(twice).contains("organisations[1].id: \"globex\" is used twice"));

    let default_again = "organisations:\n  - id: default\n";
    assert!(problems(default_again).contains("organisations[0].id: \"default\" is the top-level organisation's"));
}

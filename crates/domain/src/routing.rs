//! The routing tree, with Alertmanager's semantics.
//!
//! This module owns the route tree an alert walks to find its receivers: [`Route`] is the tree
//! as configured (any config format can build one), [`RoutingTree`] is the checked tree with
//! receivers and grouping inherited down from parents, matchers sorted, and route keys
//! computed, exactly as Alertmanager 0.25's `dispatch.NewRoute` prepares it. Matching follows
//! `dispatch.Route.Match`: depth-first, children in order, the first matching child ends the
//! search at its level unless it has `continue`, and a node none of whose children match is
//! itself the match.

use std::collections::BTreeSet;

use crate::labels::Labels;
use crate::matcher::{Matcher, format_matchers, is_valid_label_name};

/// The `group_by` entry that means "group by all labels".
pub const GROUP_BY_ALL_LABELS: &str = "...";

/// Routes nested deeper than this are refused, so that walking the tree cannot exhaust the
/// stack. Alertmanager has no such limit; no real configuration comes near it.
pub const MAX_ROUTE_DEPTH: usize = 128;

/// One node of a routing tree as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// `None` inherits the parent's receiver. The root must have one.
    pub receiver: Option<String>,
    /// All must match for the route to match. The root must have none.
    pub matchers: Vec<Matcher>,
    /// Alertmanager's `continue`: after this route matches, keep trying its later siblings.
    pub continue_matching: bool,
    /// `None` inherits the parent's grouping; `Some(["..."])` groups by all labels;
    /// `Some([])` groups everything into one group.
    pub group_by: Option<Vec<String>>,
    pub routes: Vec<Route>,
}

/// How alerts that reach a route are grouped into notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// Group by the values of these labels (an empty list puts all alerts in one group).
    Labels(Vec<String>),
    /// Every distinct label set is its own group (`group_by: ['...']`).
    AllLabels,
}

/// A route an alert ended up on, with the settings it inherited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub receiver: String,
    pub group_by: GroupBy,
    /// Alertmanager's route key: the sorted matchers of every route from the root down,
    /// joined by `/`, e.g. `{}/{owner="team-A"}/{env="production"}`. It is part of
    /// Alertmanager's group keys; it does not identify a route uniquely.
    pub route_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("{at}: root route must specify a default receiver")]
    RootWithoutReceiver { at: String },
    #[error("{at}: root route must not have any matchers")]
    RootWithMatchers { at: String },
    #[error("{at}: cannot have continue in root route")]
    RootWithContinue { at: String },
    #[error("{at}: receiver name must not be empty")]
    EmptyReceiver { at: String },
    #[error("{at}: invalid label name {name:?} in group_by list")]
    InvalidGroupByLabel { at: String, name: String },
    #[error("{at}: duplicated label {name:?} in group_by")]
    DuplicateGroupByLabel { at: String, name: String },
    #[error("{at}: cannot have wildcard group_by (`...`) and other labels at the same time")]
    GroupByWildcardWithLabels { at: String },
    #[error("{at}: routes are nested deeper than {limit} levels")]
    NestedTooDeep { at: String, limit: usize },
}

/// A checked routing tree, ready to match alerts.
#[derive(Debug, Clone)]
pub struct RoutingTree {
    root: ResolvedRoute,
}

/// A route with everything inherited from its ancestors already applied.
#[derive(Debug, Clone)]
struct ResolvedRoute {
    matchers: Vec<Matcher>,
    continue_matching: bool,
    receiver: String,
    group_by: GroupBy,
    route_key: String,
    routes: Vec<ResolvedRoute>,
}

impl RoutingTree {
    /// Checks the tree and applies inheritance. Errors name the offending route by its path
    /// from the root, written as in an Alertmanager config (`route.routes[2].group_by[1]`).
    pub fn new(root: Route) -> Result<RoutingTree, RoutingError> {
        let at = "route".to_string();
        if root.receiver.is_none() {
            return Err(RoutingError::RootWithoutReceiver { at });
        }
        if !root.matchers.is_empty() {
            return Err(RoutingError::RootWithMatchers { at });
        }
        if root.continue_matching {
            return Err(RoutingError::RootWithContinue { at });
        }
        let inherited = Inherited { receiver: "", group_by: GroupBy::Labels(Vec::new()), route_key: None };
        let root = resolve(root, &inherited, at, 0)?;
        Ok(RoutingTree { root })
    }

    /// The routes an alert with `labels` is delivered through, in Alertmanager's order.
    /// Never empty: the root matches every alert.
    pub fn matching(&self, labels: &Labels) -> Vec<RouteMatch> {
        let mut found = Vec::new();
        collect_matches(&self.root, labels, &mut found);
        found
            .into_iter()
            .map(|route| RouteMatch {
                receiver: route.receiver.clone(),
                group_by: route.group_by.clone(),
                route_key: route.route_key.clone(),
            })
            .collect()
    }

    /// The tree as `amtool config routes show` prints it, byte for byte: a `Routing tree:`
    /// header, then one line per route with its sorted matchers (`default-route` when it has
    /// none), `continue: true` when set, and its effective receiver.
    pub fn render_amtool_tree(&self) -> String {
        let mut output = String::from("Routing tree:\n.\n");
        render_branch(&self.root, "", true, &mut output);
        output.push('\n');
        output
    }
}

/// The receivers of `matches` joined by commas, as `amtool config routes test` prints them
/// (without the trailing newline). Repeated receivers are kept, as amtool keeps them.
pub fn format_receivers(matches: &[RouteMatch]) -> String {
    let receivers: Vec<&str> = matches.iter().map(|route_match| route_match.receiver.as_str()).collect();
    receivers.join(",")
}

struct Inherited<'a> {
    receiver: &'a str,
    group_by: GroupBy,
    /// `None` at the root, which has no parent key to prefix.
    route_key: Option<&'a str>,
}

fn resolve(route: Route, inherited: &Inherited<'_>, at: String, depth: usize) -> Result<ResolvedRoute, RoutingError> {
    if depth >= MAX_ROUTE_DEPTH {
        return Err(RoutingError::NestedTooDeep { at, limit: MAX_ROUTE_DEPTH });
    }
    let receiver = match route.receiver {
        Some(receiver) if receiver.is_empty() => {
            return Err(RoutingError::EmptyReceiver { at: format!("{at}.receiver") });
        }
        Some(receiver) => receiver,
        None => inherited.receiver.to_string(),
    };
    let group_by = match route.group_by {
        Some(names) => check_group_by(names, &at)?,
        None => inherited.group_by.clone(),
    };
    let mut matchers = route.matchers;
    matchers.sort_by(Matcher::alertmanager_order);
    let own_key = format_matchers(&matchers);
    let route_key = match inherited.route_key {
        Some(parent_key) => format!("{parent_key}/{own_key}"),
        None => own_key,
    };
    let mut children = Vec::with_capacity(route.routes.len());
    {
        let for_children = Inherited { receiver: &receiver, group_by: group_by.clone(), route_key: Some(&route_key) };
        for (index, child) in route.routes.into_iter().enumerate() {
            children.push(resolve(child, &for_children, format!("{at}.routes[{index}]"), depth + 1)?);
        }
    }
    Ok(ResolvedRoute { matchers, continue_matching: route.continue_matching, receiver, group_by, route_key, routes: children })
}

fn check_group_by(names: Vec<String>, at: &str) -> Result<GroupBy, RoutingError> {
    let mut labels = Vec::with_capacity(names.len());
    let mut seen = BTreeSet::new();
    let mut all_labels = false;
    for (index, name) in names.into_iter().enumerate() {
        if name == GROUP_BY_ALL_LABELS {
            all_labels = true;
            continue;
        }
        if !is_valid_label_name(&name) {
            return Err(RoutingError::InvalidGroupByLabel { at: format!("{at}.group_by[{index}]"), name });
        }
        if !seen.insert(name.clone()) {
            return Err(RoutingError::DuplicateGroupByLabel { at: format!("{at}.group_by[{index}]"), name });
        }
        labels.push(name);
    }
    if all_labels && !labels.is_empty() {
        return Err(RoutingError::GroupByWildcardWithLabels { at: format!("{at}.group_by") });
    }
    if all_labels {
        return Ok(GroupBy::AllLabels);
    }
    Ok(GroupBy::Labels(labels))
}

/// Appends the matches under `route` to `found`; returns whether `route` itself matched.
fn collect_matches<'a>(route: &'a ResolvedRoute, labels: &Labels, found: &mut Vec<&'a ResolvedRoute>) -> bool {
    if !route.matchers.iter().all(|matcher| matcher.matches(labels)) {
        return false;
    }
    let found_before = found.len();
    for child in &route.routes {
        let child_matched = collect_matches(child, labels, found);
        if child_matched && !child.continue_matching {
            break;
        }
    }
    if found.len() == found_before {
        found.push(route);
    }
    true
}

fn render_branch(route: &ResolvedRoute, prefix: &str, is_last: bool, output: &mut String) {
    output.push_str(prefix);
    output.push_str(if is_last { "└── " } else { "├── " });
    if route.matchers.is_empty() {
        output.push_str("default-route");
    } else {
        output.push_str(&format_matchers(&route.matchers));
    }
    if route.continue_matching {
        output.push_str("  continue: true");
    }
    output.push_str("  receiver: ");
    output.push_str(&route.receiver);
    output.push('\n');
    // amtool's tree printer (xlab/treeprint) pads the vertical edge with two no-break spaces.
    let child_prefix = format!("{prefix}{}", if is_last { "    " } else { "│\u{a0}\u{a0} " });
    for (index, child) in route.routes.iter().enumerate() {
        render_branch(child, &child_prefix, index + 1 == route.routes.len(), output);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(text: &str) -> Matcher {
        Matcher::parse(text).unwrap()
    }

    fn route(matchers: &[&str], receiver: Option<&str>, routes: Vec<Route>) -> Route {
        Route {
            receiver: receiver.map(str::to_string),
            matchers: matchers.iter().map(|text| matcher(text)).collect(),
            routes,
            ..Route::default()
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    /// The tree of Alertmanager's `conf.routing.yml`: a regex route with `continue` before
    /// an equality route.
    fn continue_tree() -> RoutingTree {
        let mut first = route(&[r#"test=~"^[12]$""#], Some("test1"), vec![]);
        first.continue_matching = true;
        let second = route(&[r#"test="2""#], Some("test2"), vec![]);
        RoutingTree::new(route(&[], Some("default"), vec![first, second])).unwrap()
    }

    #[test]
    fn matching_follows_alertmanager_order() {
        let tree = continue_tree();
        for (pairs, expected) in [
            (&[("test", "1")][..], "test1"),
            (&[("test", "2")][..], "test1,test2"),
            (&[("test", "3")][..], "default"),
            (&[][..], "default"),
        ] {
            assert_eq!(format_receivers(&tree.matching(&labels(pairs))), expected, "{pairs:?}");
        }
    }

    #[test]
    fn children_inherit_receiver_and_grouping() {
        let mut parent = route(&[r#"team="db""#], None, vec![route(&[r#"sev="page""#], None, vec![])]);
        parent.group_by = Some(vec!["alertname".into()]);
        let mut root = route(&[], Some("fallback"), vec![parent]);
        root.group_by = Some(vec![GROUP_BY_ALL_LABELS.into()]);
        let tree = RoutingTree::new(root).unwrap();
        let found = tree.matching(&labels(&[("team", "db"), ("sev", "page")]));
        assert_eq!(
            found,
            vec![RouteMatch {
                receiver: "fallback".into(),
                group_by: GroupBy::Labels(vec!["alertname".into()]),
                route_key: r#"{}/{team="db"}/{sev="page"}"#.into(),
            }]
        );
        let at_root = tree.matching(&labels(&[]));
        assert_eq!(at_root[0].group_by, GroupBy::AllLabels);
        assert_eq!(at_root[0].route_key, "{}");
    }

    #[test]
    fn route_keys_use_sorted_matchers() {
        let child = route(&[r#"job=~".*""#, r#"env=~"produ.*""#], Some("b"), vec![]);
        let tree = RoutingTree::new(route(&[], Some("a"), vec![child])).unwrap();
        let found = tree.matching(&labels(&[("env", "production")]));
        assert_eq!(found[0].route_key, r#"{}/{env=~"produ.*",job=~".*"}"#);
    }

    #[test]
    fn invalid_trees_are_rejected_with_their_path() {
        let with_group_by = |names: &[&str]| {
            let mut child = route(&[r#"a="b""#], None, vec![]);
            child.group_by = Some(names.iter().map(|name| name.to_string()).collect());
            route(&[], Some("root"), vec![route(&[], None, vec![]), child])
        };
        let mut continuing_root = route(&[], Some("root"), vec![]);
        continuing_root.continue_matching = true;
        let cases: Vec<(Route, &str)> = vec![
            (route(&[], None, vec![]), "route: root route must specify a default receiver"),
            (route(&[r#"a="b""#], Some("root"), vec![]), "route: root route must not have any matchers"),
            (continuing_root, "route: cannot have continue in root route"),
            (
                route(&[], Some("root"), vec![route(&[], Some(""), vec![])]),
                "route.routes[0].receiver: receiver name must not be empty",
            ),
            (with_group_by(&["ok", "not-ok"]), r#"route.routes[1].group_by[1]: invalid label name "not-ok" in group_by list"#),
            (with_group_by(&["a", "a"]), r#"route.routes[1].group_by[1]: duplicated label "a" in group_by"#),
            (
                with_group_by(&["...", "a"]),
                "route.routes[1].group_by: cannot have wildcard group_by (`...`) and other labels at the same time",
            ),
        ];
        for (root, expected) in cases {
            assert_eq!(RoutingTree::new(root).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let mut deepest = route(&[], None, vec![]);
        for _ in 0..MAX_ROUTE_DEPTH {
            deepest = route(&[], None, vec![deepest]);
        }
        let root = route(&[], Some("root"), vec![deepest]);
        let error = RoutingTree::new(root).unwrap_err();
        assert!(matches!(error, RoutingError::NestedTooDeep { .. }), "{error}");
    }

    #[test]
    fn renders_the_tree_like_amtool() {
        let expected = concat!(
            "Routing tree:\n",
            ".\n",
            "└── default-route  receiver: default\n",
            "    ├── {test=~\"^[12]$\"}  continue: true  receiver: test1\n",
            "    └── {test=\"2\"}  receiver: test2\n",
            "\n",
        );
        assert_eq!(continue_tree().render_amtool_tree(), expected);
    }
}

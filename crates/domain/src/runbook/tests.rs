//! Checking runbooks (every problem named by its path) and the run state machine, table-driven.

use super::*;
use crate::runbook::run::StepStatus as S;

fn limits() -> RunbookLimits {
    RunbookLimits {
        allowed_commands: vec!["/usr/bin/systemctl".into(), "/bin/echo".into()],
        slo_ids: ["chat-availability".to_string()].into_iter().collect(),
        service_ids: ["chat".to_string()].into_iter().collect(),
    }
}

fn parse(yaml_as_json: serde_json::Value) -> Result<Runbook, Vec<String>> {
    let raw: RawRunbook = serde_json::from_value(yaml_as_json).expect("shape");
    raw.check("runbooks[0]", &limits())
}

#[test]
fn checking_names_each_problem_by_path() {
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (
            serde_json::json!({ "name": "r", "steps": [{ "wait": "1s" }, { "wait": "1s" }, { "command": { "argv": ["/bin/sh", "-c", "x"] } }] }),
            "runbooks[0].steps[2].argv[0]: /bin/sh is not in settings.runbook_commands",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "command": { "argv": ["systemctl"] } }] }),
            "runbooks[0].steps[0].argv[0]: \"systemctl\" must be an absolute path",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "command": { "argv": ["{{alert.labels.cmd}}"] } }] }),
            "runbooks[0].steps[0].argv[0]: the executable must be written out, not templated",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "command": { "argv": ["/bin/echo", "{{incident.owner}}"] } }] }),
            "runbooks[0].steps[0].argv[1]: unknown template variable \"incident.owner\"",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "http": { "url": "http://{{alert.labels.host}}/x" } }] }),
            "runbooks[0].steps[0].http.url: the host must be written out, not templated",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "http": { "url": "ftp://h/x" } }] }),
            "runbooks[0].steps[0].http.url: \"ftp://h/x\" must start with http:// or https://",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "http": { "url": "http://h/", "body": { "a": ["{{nope}}"] } } }] }),
            "runbooks[0].steps[0].http.body.a[0]: unknown template variable \"nope\"",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "http": { "url": "http://h/", "method": "BREW" } }] }),
            "runbooks[0].steps[0].http.method: \"BREW\" must be one of GET, HEAD, POST, PUT, PATCH, DELETE",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "http": { "url": "http://h/", "method": "POST" }, "reversible": true }] }),
            "runbooks[0].steps[0].undo: a reversible http step says how to undo it",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "wait": "1s", "manual": "x" }] }),
            "runbooks[0].steps[0]: a step has exactly one",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "check": { "slo": "nope" } }] }),
            "runbooks[0].steps[0].check.slo: unknown slo \"nope\"",
        ),
        (
            serde_json::json!({ "name": "r", "approval": "maybe", "steps": [{ "wait": "1s" }] }),
            "runbooks[0].approval: \"maybe\" must be required or none",
        ),
        (serde_json::json!({ "name": "r", "steps": [] }), "runbooks[0].steps: a runbook needs at least one step"),
        (
            serde_json::json!({ "name": "r", "applies_to": { "services": ["search"] }, "steps": [{ "wait": "1s" }] }),
            "runbooks[0].applies_to.services[0]: unknown service \"search\"",
        ),
        (
            serde_json::json!({ "name": "r", "steps": [{ "wait": "1s", "undo": { "wait": "1s", "undo": { "wait": "1s" } } }] }),
            "runbooks[0].steps[0].undo.undo: an undo step has no undo of its own",
        ),
    ];
    for (definition, expected) in cases {
        let problems = parse(definition.clone()).expect_err(&definition.to_string());
        assert!(
            problems.iter().any(|problem| problem.starts_with(expected)),
            "{definition}\nwanted {expected}\ngot {problems:?}"
        );
    }
}

fn demo_runbook(approval: bool) -> Runbook {
    parse(serde_json::json!({
        "name": "provider-outage",
        "approval": if approval { "required" } else { "none" },
        "steps": [
            { "name": "fallback", "http": { "method": "POST", "url": "http://svc/fallback/on" },
              "reversible": true, "undo": { "http": { "method": "POST", "url": "http://svc/fallback/off" }, "idempotent": true }, "idempotent": true },
            { "name": "purge", "http": { "method": "POST", "url": "http://svc/purge" } },
            { "name": "tell the vendor", "manual": "open a ticket with the provider" },
            { "name": "restart", "command": { "argv": ["/usr/bin/systemctl", "restart", "{{incident.service}}"] },
              "reversible": true, "undo": { "command": { "argv": ["/bin/echo", "nothing"] } } },
        ],
    }))
    .unwrap()
}

fn progress(statuses: &[StepStatus]) -> RunProgress {
    let mut progress = RunProgress::new(statuses.len());
    for (step, status) in progress.steps.iter_mut().zip(statuses) {
        step.status = *status;
    }
    progress
}

#[test]
fn defaults_follow_what_a_step_does() {
    let runbook = demo_runbook(false);
    let flags: Vec<(bool, bool, bool)> =
        runbook.steps.iter().map(|step| (step.reversible, step.idempotent, step.needs_approval())).collect();
    assert_eq!(flags, [(true, true, false), (false, false, true), (true, true, false), (true, false, false)]);
}

#[test]
fn the_state_machine_decides_each_next_action() {
    use NextAction::*;
    let runbook = demo_runbook(false);
    let approved = |mut progress: RunProgress, step: usize| {
        progress.steps[step].approved_by = Some("user:alice".into());
        progress
    };
    let undoing = |mut progress: RunProgress| {
        progress.undo_requested = true;
        progress
    };
    let cases: Vec<(&str, RunProgress, Option<bool>, NextAction)> = vec![
        ("first step first", progress(&[S::Pending; 4]), None, Run(0)),
        (
            "an irreversible step waits for approval",
            progress(&[S::Succeeded, S::Pending, S::Pending, S::Pending]),
            Some(false),
            AwaitApproval(Some(1)),
        ),
        (
            "approval lets it run",
            approved(progress(&[S::Succeeded, S::AwaitingApproval, S::Pending, S::Pending]), 1),
            Some(false),
            Run(1),
        ),
        (
            "recovered after a step: stop",
            progress(&[S::Succeeded, S::Pending, S::Pending, S::Pending]),
            Some(true),
            Stop(RunState::Recovered),
        ),
        ("recovery before any step does not stop", progress(&[S::Pending; 4]), Some(true), Run(0)),
        ("manual steps wait for a tick", progress(&[S::Succeeded, S::Succeeded, S::Pending, S::Pending]), None, AwaitTick(2)),
        ("all done", progress(&[S::Succeeded; 4]), Some(false), Stop(RunState::Finished)),
        ("a failure stops the run", progress(&[S::Succeeded, S::Failed, S::Pending, S::Pending]), None, Stop(RunState::Failed)),
        (
            "an idempotent step found started runs again",
            progress(&[S::Started, S::Pending, S::Pending, S::Pending]),
            None,
            Run(0),
        ),
        (
            "a non-idempotent step found started is never re-run",
            approved(progress(&[S::Succeeded, S::Started, S::Pending, S::Pending]), 1),
            None,
            Interrupted { step: 1, undo: false },
        ),
        ("undo goes newest first", undoing(progress(&[S::Succeeded, S::Succeeded, S::Succeeded, S::Succeeded])), None, Undo(3)),
        (
            "undo skips steps without an undo",
            undoing(progress(&[S::Succeeded, S::Succeeded, S::Succeeded, S::Undone])),
            None,
            Undo(0),
        ),
        (
            "undo ends when nothing is left",
            undoing(progress(&[S::Undone, S::Succeeded, S::Succeeded, S::Undone])),
            None,
            Stop(RunState::Undone),
        ),
        (
            "an undo found started runs again if idempotent",
            undoing(progress(&[S::Undoing, S::Succeeded, S::Skipped, S::Skipped])),
            None,
            Undo(0),
        ),
        (
            "a non-idempotent undo found started is reported",
            undoing(progress(&[S::Succeeded, S::Succeeded, S::Succeeded, S::Undoing])),
            None,
            Interrupted { step: 3, undo: true },
        ),
    ];
    for (name, progress, recovered, expected) in cases {
        assert_eq!(decide(&runbook, &progress, recovered), expected, "{name}");
    }
}

#[test]
fn a_runbook_that_requires_approval_runs_nothing_before_it() {
    let runbook = demo_runbook(true);
    let progress_of = progress;
    let mut progress = progress_of(&[S::Pending; 4]);
    assert_eq!(decide(&runbook, &progress, None), NextAction::AwaitApproval(None));
    progress.approved_by = Some("user:alice".into());
    assert_eq!(decide(&runbook, &progress, None), NextAction::Run(0));
    // A run started asking for approval waits even when its runbook does not require it.
    let runbook = demo_runbook(false);
    let mut progress = progress_of(&[S::Pending; 4]);
    progress.approval_required = true;
    assert_eq!(decide(&runbook, &progress, None), NextAction::AwaitApproval(None));
}

#[test]
fn undo_is_refused_when_nothing_can_be_undone() {
    let runbook = demo_runbook(false);
    assert_eq!(can_undo(&runbook, &progress(&[S::Pending; 4])), Err("no applied step of this run can be undone"));
    assert_eq!(
        can_undo(&runbook, &progress(&[S::Skipped, S::Succeeded, S::Pending, S::Pending])),
        Err("no applied step of this run can be undone")
    );
    assert_eq!(can_undo(&runbook, &progress(&[S::Succeeded, S::Pending, S::Pending, S::Pending])), Ok(()));
}

proptest::proptest! {
    /// Whatever the recorded progress, a non-idempotent step that was started is never chosen
    /// to run again, and nothing runs before a required approval.
    #[test]
    fn never_reruns_a_started_non_idempotent_step(statuses in proptest::collection::vec(0usize..10, 4), approval in proptest::bool::ANY, run_approved in proptest::bool::ANY) {
        let all = [S::Pending, S::AwaitingApproval, S::AwaitingTick, S::Started, S::Succeeded, S::Failed, S::Skipped, S::Undoing, S::Undone, S::UndoFailed];
        let runbook = demo_runbook(approval);
        let mut progress = progress(&statuses.iter().map(|index| all[*index]).collect::<Vec<_>>());
        if run_approved {
            progress.approved_by = Some("user:alice".into());
        }
        match decide(&runbook, &progress, None) {
            NextAction::Run(index) => {
                proptest::prop_assert!(progress.steps[index].status != S::Started || runbook.steps[index].idempotent);
                proptest::prop_assert!(!approval || run_approved || progress.steps[index].status == S::Started);
            }
            NextAction::Undo(index) => {
                proptest::prop_assert!(matches!(progress.steps[index].status, S::Succeeded | S::Undoing));
            }
            _ => {}
        }
    }
}

#[test]
fn applies_to_needs_every_criterion_given() {
    let runbook = parse(serde_json::json!({
        "name": "r",
        "applies_to": { "services": ["chat"], "symptoms": ["model_provider_outage"], "matchers": ["env=\"prod\""] },
        "steps": [{ "wait": "1s" }],
    }))
    .unwrap();
    let facts = |service: &str, symptom: Option<&str>, env: &str| IncidentFacts {
        service_id: service.into(),
        alert_labels: vec![[("env".to_string(), env.to_string())].into_iter().collect()],
        symptom: symptom.map(str::to_string),
    };
    assert!(runbook.applies_to.matches(&facts("chat", Some("model_provider_outage"), "prod")));
    assert!(!runbook.applies_to.matches(&facts("chat", Some("model_provider_outage"), "dev")));
    assert!(!runbook.applies_to.matches(&facts("chat", None, "prod")));
    assert!(!runbook.applies_to.matches(&facts("search", Some("model_provider_outage"), "prod")));
}

#[test]
fn a_stored_definition_checks_to_the_same_runbook() {
    let runbook = demo_runbook(true);
    let stored = serde_json::to_value(&runbook.raw).unwrap();
    let again: RawRunbook = serde_json::from_value(stored).unwrap();
    assert_eq!(again, runbook.raw);
    assert_eq!(again.check("run", &limits()).unwrap().steps.len(), 4);
}

#[test]
fn argv_values_fill_exactly_one_element() {
    let runbook = demo_runbook(false);
    let context = TemplateContext { incident_service: "chat; rm -rf / $(touch /tmp/x)".into(), ..Default::default() };
    let rendered = render::render_action(&runbook.steps[3].action, &context).unwrap();
    assert_eq!(
        rendered,
        render::RenderedAction::Command {
            argv: vec!["/usr/bin/systemctl".into(), "restart".into(), "chat; rm -rf / $(touch /tmp/x)".into()],
            env: vec![],
        }
    );
}

"""PagerDuty's official Python client (PyPI `pagerduty`, python-pagerduty) against Staunch.

The library is used exactly as its users use it against events.pagerduty.com; the only change
is `base_url`. Its https-only rule is met by Staunch's own HTTPS (`--tls-cert/--tls-key`), and
`verify=` trusts the test's self-signed certificate (a deployment with a publicly trusted
certificate needs no `verify=`). What the library sent and what Staunch answered is recorded for each client, so a
failure shows the exchange.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

import pagerduty
import pytest

from conftest import Staunch, signature_is_valid, wait_until

HEX_32 = re.compile(r"^[0-9a-f]{32}$")
EVENTS_CONTEXT = "in submitting an event to the events API"
CHANGE_CONTEXT = "in submitting change event"


@dataclass
class Exchange:
    method: str
    url: str
    request_body: dict | None
    status: int | None = None
    response_body: object = None

    def __str__(self):
        return (
            f"{self.method} {self.url} {json.dumps(self.request_body)}"
            f" -> {self.status} {json.dumps(self.response_body)}"
        )


class RecordingClient:
    """An `EventsApiV2Client` plus the list of exchanges it made."""

    def __init__(self, staunch: Staunch, routing_key: str):
        self.exchanges: list[Exchange] = []
        self.client = pagerduty.EventsApiV2Client(
            routing_key,
            base_url=staunch.base_url,
            verify=staunch.certificate.client_context(),
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )
        # Keep the library's retry policy, but do not make a failing test wait for minutes.
        self.client.sleep_timer = 0.01

    def _on_request(self, request):
        try:
            body = json.loads(request.content) if request.content else None
        except ValueError:
            body = request.content.decode("utf-8", "replace")
        self.exchanges.append(Exchange(request.method, str(request.url), body))

    def _on_response(self, response):
        response.read()
        try:
            body = response.json()
        except ValueError:
            body = response.text
        self.exchanges[-1].status = response.status_code
        self.exchanges[-1].response_body = body

    @property
    def last(self) -> Exchange:
        return self.exchanges[-1]

    def history(self) -> str:
        return "\n".join(str(exchange) for exchange in self.exchanges)


@pytest.fixture
def events(staunch) -> RecordingClient:
    recording = RecordingClient(staunch, staunch.events_key)
    yield recording
    recording.client.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def incident_of(staunch: Staunch, dedup_key: str) -> int:
    alert = staunch.alert(dedup_key)
    assert alert is not None, f"Staunch stored no alert with dedup_key {dedup_key!r}: {staunch.alerts()}"
    assert alert["incident_id"] is not None, f"alert {dedup_key!r} opened no incident: {alert}"
    return alert["incident_id"]


def incident_ids(staunch: Staunch, state: str) -> set[int]:
    return {incident["id"] for incident in staunch.incidents(state)}


def wait_for_state(staunch: Staunch, incident_id: int, state: str) -> bool:
    return bool(wait_until(lambda: incident_id in incident_ids(staunch, state), timeout=5))


# --- base URL -------------------------------------------------------------------------------


def test_library_accepts_only_https_base_urls(staunch):
    """python-pagerduty's `ApiClient.url` setter rejects every base URL that is not https://,
    which is why `staunch serve` can serve HTTPS itself. This test pins that library rule."""
    plain = staunch.base_url.replace("https://", "http://")
    with pytest.raises(pagerduty.UrlError, match="must use scheme https://"):
        pagerduty.EventsApiV2Client(staunch.events_key, base_url=plain)


def test_requests_go_to_the_configured_base_url(staunch, events):
    events.client.trigger("Base URL check", "web-1")
    assert events.last.url == f"{staunch.base_url}/v2/enqueue"
    assert events.last.method == "POST"
    assert events.last.request_body["routing_key"] == staunch.events_key


# --- trigger --------------------------------------------------------------------------------


def test_trigger_without_dedup_key_returns_the_key_staunch_generated(staunch, events):
    summary = unique("Checkout is failing")
    dedup_key = events.client.trigger(summary, "web-1")

    assert "dedup_key" not in events.last.request_body, events.history()
    assert events.last.status == 202, events.history()
    assert events.last.response_body == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": dedup_key,
    }
    assert HEX_32.match(dedup_key), f"not PagerDuty's 32-hex shape: {dedup_key!r}"

    alert = staunch.alert(dedup_key)
    assert alert is not None, f"the key the library returned is not the stored alert's: {staunch.alerts()}"
    assert alert["summary"] == summary
    assert alert["firing"] is True
    incident_id = alert["incident_id"]
    assert incident_id in incident_ids(staunch, "triggered")

    # The example escalation policy pages whoever is on call; the page reaches the receiver.
    page = staunch.receiver.wait_for(
        lambda page: page.body.get("event") == "incident.triggered"
        and page.body.get("incident", {}).get("id") == incident_id
    )
    assert page is not None, f"no page arrived; received: {staunch.receiver.snapshot()}\n{staunch.log()}"
    assert page.body["incident"]["title"] == summary
    assert page.path in ("/alice", "/bob")
    assert signature_is_valid(staunch.webhook_secret, page), page.headers


def test_two_triggers_without_dedup_key_get_different_keys(staunch, events):
    first = events.client.trigger("First", "web-1")
    second = events.client.trigger("Second", "web-1")
    assert first != second
    assert staunch.alert(first) is not None and staunch.alert(second) is not None


def test_trigger_with_dedup_key_returns_that_key_and_deduplicates(staunch, events):
    dedup_key = unique("checkout/5xx")
    assert events.client.trigger("Checkout 5xx", "web-1", dedup_key=dedup_key) == dedup_key
    assert events.last.request_body["dedup_key"] == dedup_key
    assert events.last.status == 202

    # The same key again is the same alert: one alert, one incident, two events.
    assert events.client.trigger("Checkout 5xx", "web-1", dedup_key=dedup_key) == dedup_key
    matching = [alert for alert in staunch.alerts() if alert["dedup_key"] == dedup_key]
    assert len(matching) == 1, matching
    assert matching[0]["event_count"] == 2
    assert len(staunch.incidents("triggered")) == 1


@pytest.mark.parametrize(
    ("severity", "stored"),
    [("critical", "sev1"), ("error", "sev2"), ("warning", "sev3"), ("info", "sev3")],
)
def test_every_pagerduty_severity_is_accepted(staunch, events, severity, stored):
    dedup_key = events.client.trigger("Severity check", "web-1", severity=severity)
    assert staunch.alert(dedup_key)["severity"] == stored


def test_trigger_with_all_payload_fields(staunch, events):
    dedup_key = unique("db-replica-lag")
    custom_details = {"lag_seconds": 42, "replica": "db-2", "nested": {"ok": False, "list": [1, "two"]}}
    links = [{"href": "https://grafana.example.com/d/db", "text": "Dashboard"}, {"href": "https://runbooks.example.com/db"}]
    images = [
        {"src": "https://grafana.example.com/render/db.png", "href": "https://grafana.example.com/d/db", "alt": "Lag graph"},
        {"src": "https://example.com/only-src.png"},
    ]
    returned = events.client.trigger(
        "Replica lag above 30s",
        "db-2.example.com",
        dedup_key=dedup_key,
        severity="error",
        payload={
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "replication",
            "timestamp": datetime.now(timezone.utc).isoformat(),
        },
        custom_details=custom_details,
        images=images,
        links=links,
    )
    assert returned == dedup_key, events.history()

    sent = events.last.request_body
    assert sent["payload"]["class"] == "replication" and sent["images"] == images and sent["links"] == links

    alert = staunch.alert(dedup_key)
    assert alert["summary"] == "Replica lag above 30s"
    assert alert["severity"] == "sev2"
    assert alert["labels"] == {
        "source": "db-2.example.com",
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "replication",
    }
    assert alert["details"] == custom_details
    assert [link["href"] for link in alert["links"]] == [link["href"] for link in links]
    assert alert["links"][0].get("text") == "Dashboard"
    assert [image["src"] for image in alert["images"]] == [image["src"] for image in images]
    assert alert["images"][0].get("alt") == "Lag graph"
    assert alert["images"][0].get("href") == "https://grafana.example.com/d/db"
    assert alert["starts_at"] is not None


@pytest.mark.parametrize(
    "timestamp",
    [
        datetime.now(timezone.utc).isoformat(),  # 2026-11-22T06:00:00.123456+00:00
        datetime.now(timezone.utc).replace(tzinfo=None).isoformat() + "Z",  # what 7.0's utcnow()+"Z" makes
        datetime.now(timezone.utc).replace(tzinfo=None).isoformat(),  # naive, as utcnow().isoformat()
        datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),  # PagerDuty's docs example shape
    ],
)
def test_trigger_timestamps_python_produces(staunch, events, timestamp):
    dedup_key = events.client.trigger("Timestamp check", "web-1", payload={"timestamp": timestamp})
    assert staunch.alert(dedup_key)["starts_at"] is not None, events.history()


def test_send_event_with_client_and_client_url(staunch, events):
    dedup_key = unique("nagios")
    returned = events.client.send_event(
        "trigger",
        dedup_key=dedup_key,
        payload={"summary": "Disk full", "source": "nagios-1", "severity": "warning"},
        client="Nagios",
        client_url="https://nagios.example.com/host/db-1",
    )
    assert returned == dedup_key, events.history()
    links = staunch.alert(dedup_key)["links"]
    assert {"href": "https://nagios.example.com/host/db-1", "text": "Nagios"} in links


def test_long_summary_is_truncated_not_rejected(staunch, events):
    dedup_key = events.client.trigger("x" * 1500, "web-1")
    assert len(staunch.alert(dedup_key)["summary"]) == 1024


# --- acknowledge and resolve ----------------------------------------------------------------


def test_acknowledge_and_resolve_by_dedup_key(staunch, events):
    dedup_key = unique("checkout-latency")
    events.client.trigger("Checkout latency", "web-1", dedup_key=dedup_key)
    incident_id = incident_of(staunch, dedup_key)
    assert incident_id in incident_ids(staunch, "triggered")

    assert events.client.acknowledge(dedup_key) == dedup_key, events.history()
    assert events.last.request_body == {
        "event_action": "acknowledge",
        "dedup_key": dedup_key,
        "routing_key": staunch.events_key,
    }
    assert events.last.status == 202
    assert wait_for_state(staunch, incident_id, "acknowledged"), staunch.api(f"/incidents/{incident_id}")
    assert incident_id not in incident_ids(staunch, "triggered")

    assert events.client.resolve(dedup_key) == dedup_key, events.history()
    assert events.last.request_body["event_action"] == "resolve"
    assert events.last.status == 202
    assert wait_for_state(staunch, incident_id, "resolved"), staunch.api(f"/incidents/{incident_id}")
    assert staunch.alert(dedup_key)["firing"] is False
    assert incident_id not in incident_ids(staunch, "triggered,acknowledged,mitigated")


def test_resolve_without_acknowledge(staunch, events):
    dedup_key = events.client.trigger("Flapping check", "web-1")
    incident_id = incident_of(staunch, dedup_key)
    assert events.client.resolve(dedup_key) == dedup_key
    assert wait_for_state(staunch, incident_id, "resolved")


def test_generated_dedup_key_works_for_acknowledge_and_resolve(staunch, events):
    dedup_key = events.client.trigger("No key given", "web-1")
    incident_id = incident_of(staunch, dedup_key)
    events.client.acknowledge(dedup_key)
    assert wait_for_state(staunch, incident_id, "acknowledged")
    events.client.resolve(dedup_key)
    assert wait_for_state(staunch, incident_id, "resolved")


def test_trigger_after_resolve_opens_a_new_incident(staunch, events):
    dedup_key = unique("recurring")
    events.client.trigger("Recurring problem", "web-1", dedup_key=dedup_key)
    first = incident_of(staunch, dedup_key)
    events.client.resolve(dedup_key)
    assert wait_for_state(staunch, first, "resolved")

    assert events.client.trigger("Recurring problem", "web-1", dedup_key=dedup_key) == dedup_key
    second = incident_of(staunch, dedup_key)
    assert second != first
    assert second in incident_ids(staunch, "triggered")


# An Events v2 alert carries none of the service's group_by labels, so it is its own incident.
def test_distinct_dedup_keys_are_distinct_incidents_like_pagerduty(staunch, events):
    first = events.client.trigger("Disk full on db-1", "db-1", dedup_key=unique("disk-db-1"))
    second = events.client.trigger("Certificate expires", "lb-1", dedup_key=unique("cert-lb-1"))
    first_incident = incident_of(staunch, first)
    second_incident = incident_of(staunch, second)
    assert first_incident != second_incident, (
        f"both dedup keys are in incident {first_incident}: {staunch.incidents('triggered')}"
    )
    events.client.acknowledge(first)
    assert wait_for_state(staunch, first_incident, "acknowledged")
    assert second_incident in incident_ids(staunch, "triggered")


def test_repeated_and_unknown_follow_ups_are_accepted_like_pagerduty(staunch, events):
    """PagerDuty answers 202 to an acknowledge/resolve it has nothing to apply to."""
    dedup_key = events.client.trigger("Once", "web-1")
    assert events.client.resolve(dedup_key) == dedup_key
    assert events.client.resolve(dedup_key) == dedup_key
    assert events.client.acknowledge(dedup_key) == dedup_key
    never_sent = unique("never-triggered")
    assert events.client.acknowledge(never_sent) == never_sent, events.history()
    assert events.client.resolve(never_sent) == never_sent, events.history()
    assert all(exchange.status == 202 for exchange in events.exchanges), events.history()


# --- change events --------------------------------------------------------------------------


def test_send_change_event(staunch, events):
    summary = unique("Deployed checkout v2.4.1")
    events.client.send_change_event(
        payload={
            "summary": summary,
            "source": "github-actions",
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "custom_details": {"commit": "abc123", "build": 981},
        },
        links=[{"href": "https://github.com/acme/checkout/actions/runs/981", "text": "Build 981"}],
        images=[{"src": "https://example.com/badge.png"}],
    )
    assert events.last.url == f"{staunch.base_url}/v2/change/enqueue"
    assert events.last.status == 202, events.history()
    assert events.last.response_body["status"] == "success"

    change = next((change for change in staunch.changes() if change["summary"] == summary), None)
    assert change is not None, staunch.changes()
    assert change["source"] == "github-actions"
    assert change["details"] == {"commit": "abc123", "build": 981}
    assert change["links"][0]["href"] == "https://github.com/acme/checkout/actions/runs/981"
    assert change["service_id"] == "checkout"
    # A change event never pages.
    assert staunch.incidents("triggered,acknowledged,mitigated,resolved") == []


def test_submit_change_event_with_timestamp(staunch, events):
    summary = unique("Config push")
    events.client.submit(
        summary,
        source="ansible",
        custom_details={"hosts": 12},
        links=[{"href": "https://ci.example.com/42"}],
        timestamp=datetime.now(timezone.utc).replace(tzinfo=None).isoformat() + "Z",
    )
    assert events.last.status == 202, events.history()
    change = next((change for change in staunch.changes() if change["summary"] == summary), None)
    assert change is not None and change["source"] == "ansible" and change["details"] == {"hosts": 12}


@pytest.mark.xfail(
    strict=True,
    raises=AttributeError,
    reason=(
        "python-pagerduty 7.2.0 bug, not Staunch: EventsApiV2Client.event_timestamp calls "
        "datetime.now(tz=datetime.timezone.utc) with `datetime` the class, so submit() without "
        "timestamp= raises AttributeError before any request is sent"
    ),
)
def test_submit_change_event_with_default_timestamp(staunch, events):
    events.client.submit("Deploy without explicit timestamp", source="ci")


# --- errors ---------------------------------------------------------------------------------


def assert_http_400(error: pagerduty.HttpError, context: str, errors: list[str]):
    """How the library surfaces a rejected event: `HttpError` (not `ServerHttpError`), the
    response attached, the message built by `http_error_message`."""
    assert type(error) is pagerduty.HttpError
    assert error.response is not None and error.response.status_code == 400
    assert f"API responded with client error (status 400) {context}" in str(error)
    assert error.response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": errors,
    }


def test_invalid_severity_is_a_400_the_library_raises(staunch, events):
    with pytest.raises(pagerduty.HttpError) as raised:
        events.client.trigger("Bad severity", "web-1", severity="bogus")
    assert_http_400(
        raised.value,
        EVENTS_CONTEXT,
        ["'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"],
    )
    assert len(events.exchanges) == 1, "a 400 must not be retried"
    assert staunch.alerts() == []


def test_blank_summary_and_source_are_400(staunch, events):
    with pytest.raises(pagerduty.HttpError) as raised:
        events.client.trigger("", "")
    assert_http_400(
        raised.value,
        EVENTS_CONTEXT,
        ["'payload.summary' is missing or blank", "'payload.source' is missing or blank"],
    )


def test_change_event_without_summary_is_400(staunch, events):
    with pytest.raises(pagerduty.HttpError) as raised:
        events.client.send_change_event(payload={"source": "ci"})
    assert_http_400(raised.value, CHANGE_CONTEXT, ["'payload.summary' is missing or blank"])


def test_unknown_routing_key_is_400_invalid_routing_key(staunch):
    unknown = RecordingClient(staunch, secrets.token_hex(16))
    try:
        with pytest.raises(pagerduty.HttpError) as raised:
            unknown.client.trigger("Wrong key", "web-1")
        assert_http_400(raised.value, EVENTS_CONTEXT, ["Invalid routing key"])
        with pytest.raises(pagerduty.HttpError) as raised:
            unknown.client.acknowledge("some-key")
        assert_http_400(raised.value, EVENTS_CONTEXT, ["Invalid routing key"])
        with pytest.raises(pagerduty.HttpError) as raised:
            unknown.client.send_change_event(payload={"summary": "Deploy"})
        assert_http_400(raised.value, CHANGE_CONTEXT, ["Invalid routing key"])
    finally:
        unknown.client.close()
    assert staunch.alerts() == [] and staunch.changes() == []


def test_routing_key_of_wrong_length_is_400(staunch):
    short = RecordingClient(staunch, "too-short")
    try:
        with pytest.raises(pagerduty.HttpError) as raised:
            short.client.trigger("Short key", "web-1")
        assert_http_400(raised.value, EVENTS_CONTEXT, ["Length of 'routing_key' is incorrect (should be 32 characters)"])
    finally:
        short.client.close()


def test_alertmanager_key_is_not_an_events_v2_routing_key(staunch):
    wrong_type = RecordingClient(staunch, staunch.alertmanager_key)
    try:
        with pytest.raises(pagerduty.HttpError) as raised:
            wrong_type.client.trigger("Wrong integration type", "web-1")
        assert_http_400(raised.value, EVENTS_CONTEXT, ["Invalid routing key"])
    finally:
        wrong_type.client.close()


def test_unknown_top_level_property_is_rejected(staunch, events):
    """A documented divergence: PagerDuty ignores properties it does not define, Staunch
    rejects them (so `dedupkey` cannot silently open a new alert). The library only sends
    unknown properties when a caller passes them to `send_event(**properties)`."""
    with pytest.raises(pagerduty.HttpError) as raised:
        events.client.send_event(
            "trigger",
            payload={"summary": "Typo", "source": "web-1", "severity": "info"},
            dedupkey="typo",
        )
    assert_http_400(raised.value, EVENTS_CONTEXT, ["'dedupkey' is not a recognized field"])

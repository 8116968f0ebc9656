//! Bad input gets a clear 4xx naming the field, and the server stays up.

mod support;

use serde_json::{Value, json};
use support::receiver::Receiver;
use support::{ALERTMANAGER_KEY, App, EVENTS_KEY, WEBHOOK_SECRET, config};

async fn send(app: &App, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = match method {
        "GET" => app.http.get(app.url(path)),
        "DELETE" => app.http.delete(app.url(path)),
        _ => app.http.post(app.url(path)),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    // The server closes the connection after refusing an oversized body unread; a fresh
    // connection per request keeps the next case from landing on that closed socket.
    let request = request.header("Content-Type", "application/json").header("Connection", "close");
    let response = request.body(body.to_string()).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: body is not JSON: {text:?}"));
    (status, value)
}

/// (method, path, token, body, expected status, text the answer must contain)
type Case<'a> = (&'a str, String, Option<&'a str>, String, u16, &'a str);

#[tokio::test]
async fn bad_requests_get_4xx_json_naming_the_problem() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    app.trigger("exists", "An incident to act on").await;
    let token = app.token.clone();
    let am = format!("/integrations/alertmanager/{ALERTMANAGER_KEY}");
    let huge = format!("{{\"routing_key\":\"{EVENTS_KEY}\",\"pad\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));

    // (method, path, token, body, status, field in `field`, or text the answer must contain)
    let cases: Vec<Case> = vec![
        ("POST", "/v2/enqueue".into(), None, "{not json".into(), 400, "Unrecognized object"),
        ("POST", "/v2/enqueue".into(), None, "[]".into(), 400, "Unrecognized object"),
        ("POST", "/v2/enqueue".into(), None, json!({"routing_key": EVENTS_KEY, "event_action": "explode"}).to_string(), 400, "event_action"),
        ("POST", "/v2/enqueue".into(), None, json!({"routing_key": EVENTS_KEY, "event_action": "trigger", "payload": {"summary": "x", "source": "y", "severity": "critical"}, "bogus": 1}).to_string(), 400, "bogus"),
        ("POST", "/v2/enqueue".into(), None, json!({"routing_key": "f".repeat(32), "event_action": "trigger", "payload": {"summary": "x", "source": "y", "severity": "critical"}}).to_string(), 400, "routing key"),
        ("POST", "/v2/enqueue".into(), None, huge, 413, "body"),
        ("POST", am.clone(), None, "{\"version\":\"3\",\"alerts\":[]}".into(), 400, "version"),
        ("POST", am.clone(), None, "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":\"nope\"}]}".into(), 400, "alerts[0].labels"),
        ("POST", "/integrations/alertmanager/not-a-key".into(), None, "{}".into(), 404, "integration_key"),
        ("GET", "/api/v1/incidents".into(), None, "".into(), 401, "authorization"),
        ("GET", "/api/v1/incidents".into(), Some("stn_wrong"), "".into(), 401, "authorization"),
        ("GET", "/api/v1/incidents?state=exploded".into(), Some(&token), "".into(), 400, "state"),
        ("GET", "/api/v1/incidents?limit=0".into(), Some(&token), "".into(), 400, "limit"),
        ("GET", "/api/v1/incidents?limit=many".into(), Some(&token), "".into(), 400, "limit"),
        ("GET", "/api/v1/incidents?colour=red".into(), Some(&token), "".into(), 400, "colour"),
        ("GET", "/api/v1/incidents/abc".into(), Some(&token), "".into(), 400, "id"),
        ("GET", "/api/v1/incidents/999".into(), Some(&token), "".into(), 404, "id"),
        ("POST", "/api/v1/incidents/1/severity".into(), Some(&token), json!({"severity": "sev9"}).to_string(), 422, "severity"),
        ("POST", "/api/v1/incidents/1/severity".into(), Some(&token), json!({"severity": "sev1", "extra": true}).to_string(), 422, "extra"),
        ("POST", "/api/v1/incidents/1/reassign".into(), Some(&token), json!({"user": "mallory"}).to_string(), 422, "user"),
        ("POST", "/api/v1/incidents/1/reassign".into(), Some(&token), json!({"user": 7}).to_string(), 422, "user"),
        ("POST", "/api/v1/incidents/1/notes".into(), Some(&token), json!({"text": "  "}).to_string(), 422, "text"),
        ("POST", "/api/v1/incidents/1/notes".into(), Some(&token), "{\"text\": ".into(), 400, "invalid JSON"),
        ("POST", "/api/v1/incidents/1/acknowledge".into(), Some(&token), json!({"why": "because"}).to_string(), 422, "body"),
        ("POST", "/api/v1/silences".into(), Some(&token), json!({"matchers": "{env=~\"(\"}", "duration": "1h"}).to_string(), 422, "matchers"),
        ("POST", "/api/v1/silences".into(), Some(&token), json!({"matchers": "{env=\"x\"}", "duration": "soon"}).to_string(), 422, "duration"),
        ("POST", "/api/v1/silences".into(), Some(&token), json!({"matchers": "{env=\"x\"}"}).to_string(), 422, "ends_at"),
        ("GET", "/api/v1/oncall?at=yesterday".into(), Some(&token), "".into(), 400, "at"),
        ("GET", "/api/v1/nothing-here".into(), Some(&token), "".into(), 404, "no such endpoint"),
    ];
    for (method, path, token, body, status, mentions) in cases {
        let (actual_status, answer) = send(&app, method, &path, token, &body).await;
        assert_eq!(actual_status, status, "{method} {path} {}: {answer}", body.chars().take(80).collect::<String>());
        let text = answer.to_string();
        assert!(text.contains(mentions), "{method} {path}: answer {text} does not mention {mentions:?}");
    }
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the server is still up");
    assert_eq!(app.incidents("").await.len(), 1, "nothing was created by bad input");
}

/// The server reads each connection through a bounded buffer (32 KiB): a request head past it
/// is refused with 431, while a body many times that size still arrives whole.
#[tokio::test]
async fn an_oversized_request_head_gets_431_and_large_bodies_still_arrive() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    let just_under = app.http.get(app.url("/healthz")).header("X-Padding", "p".repeat(31 * 1024)).send().await.unwrap();
    assert_eq!(just_under.status(), 200, "a 31 KiB head is within the bound");
    assert_eq!(head_answer(&app, 32 * 1024).await.lines().next(), Some("HTTP/1.1 431 Request Header Fields Too Large"));

    let alerts: Vec<Value> = (0..400)
        .map(|index| {
            json!({
                "status": "firing",
                "labels": {"alertname": "DiskFull", "instance": format!("host-{index}"), "note": "n".repeat(200)},
                "annotations": {"summary": format!("disk {index} is full")},
                "startsAt": "2026-11-23T08:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": format!("{index:016x}"),
            })
        })
        .collect();
    let payload = json!({
        "version": "4", "status": "firing", "receiver": "staunch", "groupKey": "{}:{}", "truncatedAlerts": 0,
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am", "alerts": alerts,
    });
    assert!(payload.to_string().len() > 4 * 32 * 1024, "the body spans many reads");
    app.post_alertmanager(&payload).await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the server is still up");
    let listed = app.api_get("/api/v1/alerts?limit=1000").await;
    assert_eq!(listed["alerts"].as_array().map(Vec::len), Some(400));
}

/// Sends `length` bytes of an unfinished request head and reads the answer to its end. Exactly
/// the bound's worth, so the server has read all of it when it refuses: nothing unread to turn
/// its close into a reset.
async fn head_answer(app: &App, length: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.url("").trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut head = b"GET /healthz HTTP/1.1\r\nHost: staunch\r\nX-Padding: ".to_vec();
    head.resize(length, b'p');
    stream.write_all(&head).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

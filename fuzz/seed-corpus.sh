#!/bin/sh
# Writes seed inputs into fuzz/corpus/<target>/ (git-ignored). Safe to re-run.
# Seeds: small valid and invalid documents written here, plus the Alertmanager 0.25.0
# captures from ../shared/data when that folder exists (read in place, never committed).
set -eu
cd "$(dirname "$0")"

mkdir -p corpus/alertmanager_webhook corpus/pagerduty_event corpus/pagerduty_change_event corpus/telemetry_batch

key=e93facc04764012d7bfb002500d5d1a6

printf '%s' '{"receiver":"r","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","severity":"critical"},"annotations":{"summary":"s"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p.test/graph","fingerprint":"0123456789abcdef"}],"groupLabels":{"alertname":"A"},"commonLabels":{"alertname":"A"},"commonAnnotations":{},"externalURL":"http://am.test","version":"4","groupKey":"{}:{alertname=\"A\"}","truncatedAlerts":0}' \
    > corpus/alertmanager_webhook/seed-firing.json
printf '%s' '{"receiver":"r","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"A"},"annotations":{},"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T00:05:00.5+01:00","generatorURL":""}],"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"routeLabels":{"team":"x"},"notification_reason":"resolved","externalURL":"","version":"4","groupKey":"{}:{}"}' \
    > corpus/alertmanager_webhook/seed-resolved.json
shared=../../shared/data/alertmanager/webhook-payloads-0.25.0
if [ -d "$shared" ]; then
    for file in "$shared"/[0-9][0-9]_*.json; do
        cp "$file" "corpus/alertmanager_webhook/shared-$(basename "$file")"
    done
fi

printf '%s' "{\"payload\":{\"summary\":\"Example alert\",\"timestamp\":\"2015-07-17T08:42:58.315+0000\",\"source\":\"host1\",\"severity\":\"info\",\"component\":\"postgres\",\"group\":\"prod\",\"class\":\"deploy\",\"custom_details\":{\"ping time\":\"1500ms\",\"load avg\":0.75}},\"routing_key\":\"$key\",\"dedup_key\":\"samplekey\",\"images\":[{\"src\":\"https://i.test/a.png\",\"href\":\"https://e.test/\",\"alt\":\"a\"}],\"links\":[{\"href\":\"https://e.test/\",\"text\":\"t\"}],\"event_action\":\"trigger\",\"client\":\"c\",\"client_url\":\"https://c.test\"}" \
    > corpus/pagerduty_event/seed-trigger.json
printf '%s' "{\"routing_key\":\"$key\",\"dedup_key\":\"samplekey\",\"event_action\":\"acknowledge\"}" > corpus/pagerduty_event/seed-acknowledge.json
printf '%s' "{\"routing_key\":\"$key\",\"dedup_key\":\"samplekey\",\"event_action\":\"resolve\",\"payload\":{\"summary\":\"s\",\"source\":\"Alertmanager\",\"severity\":\"error\"}}" > corpus/pagerduty_event/seed-resolve.json
printf '%s' '{}' > corpus/pagerduty_event/seed-empty.json

printf '%s' "{\"routing_key\":\"$key\",\"payload\":{\"summary\":\"Build Success\",\"timestamp\":\"2020-07-17T08:42:58.315+0000\",\"source\":\"ci\",\"custom_details\":{\"build_state\":\"passed\"}},\"links\":[{\"href\":\"https://ci.test/2\",\"text\":\"View\"}]}" \
    > corpus/pagerduty_change_event/seed-change.json
printf '%s' "{\"routing_key\":\"$key\",\"payload\":{\"summary\":\"deployed\",\"timestamp\":\"2024-05-01T12:00:00.123456\"},\"images\":[{\"src\":\"https://ci.test/1.png\"}]}" \
    > corpus/pagerduty_change_event/seed-minimal.json

printf '%s' '{"lines":[{"service":"cart","at":"2026-01-01T10:00:00Z","level":"error","message":"redis timeout","pod":"cart-0","attributes":{"k":1}},{"service":"cart","at":1767261600000,"message":"ok"}]}' \
    > corpus/telemetry_batch/seed-logs.json
printf '%s' '{"spans":[{"trace_id":"t","span_id":"a","service":"front","operation":"GET /","start":"2026-01-01T10:00:00Z","duration_ms":12.5},{"trace_id":"t","span_id":"b","parent_span_id":"a","service":"cart","operation":"get","start":1767261600001,"duration_ms":3,"status":"error"}]}' \
    > corpus/telemetry_batch/seed-spans.json
printf '%s' '{"points":[{"service":"cart","name":"latency_ms","at":"2026-01-01T10:00:00Z","value":12.5,"pod":"cart-0"}]}' \
    > corpus/telemetry_batch/seed-metrics.json

echo "seeded: $(ls corpus/alertmanager_webhook | wc -l) alertmanager, $(ls corpus/pagerduty_event | wc -l) event, $(ls corpus/pagerduty_change_event | wc -l) change"

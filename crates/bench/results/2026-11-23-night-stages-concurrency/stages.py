"""Places each stage of a latency probe between the moment the harness sent it and the moment
its page arrived, from a server built with stages.patch.

    python3 stages.py SERVER_STDERR BENCH_STDERR

The server prints `STAGE name Instant {...}` and the harness `BENCH server sent Instant {...}
arrived Instant {...} posted Instant {...}`; both are CLOCK_MONOTONIC on one machine. Probes
are sent one at a time, so the stages between a probe's send and its answer are its own.
"""

import bisect
import re
import sys

INSTANT = re.compile(r"tv_sec: (\d+), tv_nsec: (\d+)")
SPANS = [
    ("sent", "h_entry", "HTTP in"),
    ("h_entry", "e_enqueue", "handler"),
    ("e_enqueue", "e_applied", "apply"),
    ("e_applied", "e_flushed", "flush"),
    ("e_flushed", "e_committed", "commit"),
    ("e_committed", "o_recv", "handover"),
    ("o_recv", "o_send1", "outbox"),
    ("o_send1", "arrived", "POST out"),
    ("sent", "arrived", "total"),
    ("e_committed", "h_replied", "reply to handler"),
    ("h_replied", "posted", "answer back"),
    ("sent", "posted", "answered"),
]


def instants(line):
    return [int(seconds) * 1e9 + int(nanos) for seconds, nanos in INSTANT.findall(line)]


stages = sorted(
    (instants(line)[0], line.split()[1]) for line in open(sys.argv[1]) if line.startswith("STAGE")
)
times = [at for at, _ in stages]
probes = []
for line in open(sys.argv[2]):
    if not (line.startswith("BENCH") and "staunch" in line):
        continue
    sent, arrived, posted = instants(line)
    probe = {"sent": sent, "arrived": arrived, "posted": posted}
    for at, name in stages[bisect.bisect_left(times, sent) : bisect.bisect_right(times, max(arrived, posted))]:
        probe.setdefault(name, at)
    probes.append(probe)

print(f"{len(probes)} probes; microseconds")
print("| span | p50 | p90 | p99 |")
for start, end, label in SPANS:
    spans = sorted((probe[end] - probe[start]) / 1e3 for probe in probes if start in probe and end in probe)
    pick = lambda share: spans[min(len(spans) - 1, int(len(spans) * share))]
    print(f"| {label} | {pick(0.5):.0f} | {pick(0.9):.0f} | {pick(0.99):.0f} |")

"""Places each stage of B's probes (noisy bench) from a server built with the tagged stage patch.
    python3 nn.py SERVER_STDERR BENCH_STDERR [B_ORG]
"""
import bisect, re, sys
INSTANT = re.compile(r"tv_sec: (\d+), tv_nsec: (\d+)")
def ns(line):
    return [int(s) * 1e9 + int(n) for s, n in INSTANT.findall(line)]
B = sys.argv[3] if len(sys.argv) > 3 else "2"
events = []
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("STAGE"):
        parts = line.split()
        events.append((ns(line)[0], parts[1], parts[2]))
events.sort()
times = [t for t, _, _ in events]
def first(name, after, pred=lambda tag: True, before=None):
    i = bisect.bisect_left(times, after)
    while i < len(events) and (before is None or events[i][0] <= before):
        t, n, tag = events[i]
        if n == name and pred(tag):
            return t
        i += 1
    return None
def last(name, before, after, pred=lambda tag: True):
    i = bisect.bisect_right(times, before) - 1
    while i >= 0 and events[i][0] >= after:
        t, n, tag = events[i]
        if n == name and pred(tag):
            return t
        i -= 1
    return None
hasB = lambda tag: tag.strip("[]").split(",").count(B) > 0
probes = []
for line in open(sys.argv[2], errors="replace"):
    if not line.startswith("BENCH probe"):
        continue
    number = int(line.split()[2])
    sent, arrived, posted = ns(line)
    p = {"n": number, "sent": sent, "arrived": arrived, "posted": posted}
    end = max(arrived, posted) + 1e6
    p["h_entry"] = first("h_entry", sent, before=end)
    if p["h_entry"] is None: continue
    p["h_slot"] = first("h_slot", p["h_entry"], before=end)
    p["h_parsed"] = first("h_parsed", p["h_slot"], before=end)
    p["e_enqueue"] = first("e_enqueue", p["h_parsed"], lambda t: t == B, before=end)
    p["e_committed"] = first("e_committed", p["e_enqueue"], hasB, before=end)
    p["e_applied"] = last("e_applied", p["e_committed"], p["e_enqueue"], hasB)
    p["e_flushed"] = last("e_flushed", p["e_committed"], p["e_enqueue"], hasB)
    p["e_begin1"] = last("e_begin1", p["e_applied"], p["e_enqueue"] - 1e9)
    p["e_begin0"] = last("e_begin0", p["e_begin1"], p["e_enqueue"] - 1e9)
    p["o_recv"] = first("o_recv", p["e_committed"], lambda t: t == B, before=end)
    p["o_send1"] = first("o_send1", p["o_recv"], lambda t: t == B, before=end)
    p["h_replied"] = first("h_replied", p["e_committed"], lambda t: t == B, before=end)
    # what the engine was doing when B was enqueued
    i = bisect.bisect_right(times, p["e_enqueue"]) - 1
    p["engine_at_enqueue"] = None
    while i >= 0:
        t, n, tag = events[i]
        if n in ("e_begin0", "e_begin1", "e_applied", "e_flushed", "e_committed", "e_handed", "e_gaveway", "j_begin0", "j_begin1"):
            p["engine_at_enqueue"] = (n, (p["e_enqueue"] - t) / 1e3)
            break
        i -= 1
    # write-lock holders between enqueue and B's begin1
    others = [n for t, n, tag in events[bisect.bisect_left(times, p["e_enqueue"]):bisect.bisect_left(times, p["e_begin1"] or p["e_enqueue"])] if n in ("o_rec1", "i_w1", "i_t1", "j_begin1", "e_begin1", "e_gaveway", "e_committed")]
    p["between"] = others
    probes.append(p)
SPANS = [("sent", "h_entry", "HTTP in"), ("h_entry", "h_slot", "slot+body"), ("h_slot", "h_parsed", "parse"),
         ("h_parsed", "e_enqueue", "to engine"), ("e_enqueue", "e_begin0", "engine busy"), ("e_begin0", "e_begin1", "write lock"),
         ("e_begin1", "e_applied", "apply"), ("e_applied", "e_flushed", "flush"), ("e_flushed", "e_committed", "commit"),
         ("e_committed", "o_recv", "handover"), ("o_recv", "o_send1", "outbox"), ("o_send1", "arrived", "POST out"),
         ("sent", "arrived", "total"), ("e_committed", "h_replied", "reply to handler"), ("h_replied", "posted", "answer back")]
def table(sel, title):
    print(f"{title}: {len(sel)} probes; microseconds")
    print("| span | p50 | p90 | max |")
    for a, b, label in SPANS:
        xs = sorted((p[b] - p[a]) / 1e3 for p in sel if p.get(a) and p.get(b))
        if not xs: continue
        pick = lambda q: xs[min(len(xs) - 1, int(len(xs) * q))]
        print(f"| {label} | {pick(0.5):.0f} | {pick(0.9):.0f} | {xs[-1]:.0f} |")
split = int(sys.argv[4]) if len(sys.argv) > 4 else 205
table([p for p in probes if p["n"] < split], "idle")
flood = [p for p in probes if p["n"] >= split]
table(flood, "flood")
print("slowest flood probes:")
for p in sorted(flood, key=lambda p: p["sent"] - p["arrived"])[:12]:
    spans = " ".join(f"{label}={(p[b]-p[a])/1e3:.0f}" for a, b, label in SPANS[:13] if p.get(a) and p.get(b))
    print(p["n"], spans, "| at enqueue:", p["engine_at_enqueue"], "| between:", " ".join(p["between"][:12]))
print("mean excess over idle (us):")
idle = [p for p in probes if p["n"] < split]
for a, b, label in SPANS:
    xi = [(p[b]-p[a])/1e3 for p in idle if p.get(a) and p.get(b)]
    xf = [(p[b]-p[a])/1e3 for p in flood if p.get(a) and p.get(b)]
    if xi and xf:
        xf.sort()
        top = xf[-20:]
        print(f"  {label}: idle mean {sum(xi)/len(xi):.0f}, flood mean {sum(xf)/len(xf):.0f}, flood top-10% mean {sum(top)/len(top):.0f}")

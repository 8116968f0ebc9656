import re, sys, bisect
INSTANT = re.compile(r"tv_sec: (\d+), tv_nsec: (\d+)")
ns = lambda l: [int(s)*1e9+int(n) for s, n in INSTANT.findall(l)]
ev = sorted((ns(l)[0], l.split()[1], l.split()[2]) for l in open(sys.argv[1]) if l.startswith("STAGE"))
B = sys.argv[3]
times = [e[0] for e in ev]
rows = []
for l in open(sys.argv[2]):
    if not l.startswith("BENCH probe"): continue
    n = int(l.split()[2])
    if n < 205: continue
    sent, arr, post = ns(l)
    i = bisect.bisect_left(times, sent)
    # engine state machine from sent until B's e_begin1
    state = None; since = sent; acc = {}
    # determine the state at sent by scanning back
    j = i - 1
    while j >= 0:
        t, nm, tag = ev[j]
        if nm in ("e_begin0",): state = "lockwait"; break
        if nm in ("e_begin1",): state = "A apply"; break
        if nm == "e_applied": state = "A flush"; break
        if nm == "e_flushed": state = "A commit"; break
        if nm in ("e_committed", "e_handed", "e_gaveway"): state = "idle/loop"; break
        if nm == "j_begin0": state = "jobs lockwait"; break
        if nm == "j_begin1": state = "jobs"; break
        j -= 1
    start_state = state
    bstart = None
    k = i
    while k < len(ev):
        t, nm, tag = ev[k]
        if t > arr: break
        new = None
        if nm == "e_begin0": new = "lockwait"
        elif nm == "e_begin1": new = "apply"
        elif nm == "e_applied": new = "flush" if tag != f"[{B}]" else None
        elif nm == "e_flushed": new = "A commit" if tag != f"[{B}]" else None
        elif nm in ("e_committed", "e_handed", "e_gaveway"): new = "idle/loop"
        elif nm == "j_begin0": new = "jobs lockwait"
        elif nm == "j_begin1": new = "jobs"
        elif nm == "e_applied" and tag == f"[{B}]": break
        if nm == "e_applied" and tag == f"[{B}]":
            break
        if new:
            acc[state] = acc.get(state, 0) + (t - since); state = new; since = t
        k += 1
    rows.append((arr - sent, n, start_state, {s: round(v/1e3) for s, v in acc.items() if v > 100e3}))
rows.sort(reverse=True)
for total, n, s0, acc in rows[:25]:
    print(f"{total/1e3:7.0f} probe {n} started in {s0}: {acc}")
tot = {}
for total, n, s0, acc in rows:
    for s, v in acc.items(): tot[s] = tot.get(s, 0) + v
print("sum over probes (us, pieces >100us):", tot)

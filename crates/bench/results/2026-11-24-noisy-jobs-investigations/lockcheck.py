import re, sys, bisect
INSTANT = re.compile(r"tv_sec: (\d+), tv_nsec: (\d+)")
ns = lambda l: [int(s)*1e9+int(n) for s, n in INSTANT.findall(l)]
ev = sorted((ns(l)[0], l.split()[1], l.split()[2]) for l in open(sys.argv[1]) if l.startswith("STAGE"))
times = [e[0] for e in ev]
# walk all events, tracking holder and queue of background writers
holding = None; queued = 0
res = []
pending_b = False
waits = {"held": [], "queued_ahead": []}
for idx, (t, nm, tag) in enumerate(ev):
    if nm in ("o_rec0", "i_w0", "i_t0"): queued += 1
    if nm in ("o_rec1", "i_w1", "i_t1"): queued -= 1; holding = (nm, t)
    if nm in ("o_rec2", "i_w2", "i_t2"): holding = None
    if nm == "e_begin0":
        # find whether this begin leads to a B-only transaction
        j = idx + 1
        while j < len(ev) and ev[j][1] not in ("e_applied", "e_gaveway"): j += 1
        if j < len(ev) and ev[j][1] == "e_applied" and ev[j][2] == "[3]":
            k = idx + 1
            while ev[k][1] != "e_begin1": k += 1
            wait = (ev[k][0] - t) / 1e3
            res.append((wait, holding[0] if holding else None, queued))
res.sort(reverse=True)
print("B transactions:", len(res), "waits > 500us:", sum(1 for w in res if w[0] > 500))
print("  of those, the investigation save held the writer:", sum(1 for w in res if w[0] > 500 and w[1] == "i_w1"), "; sum of waits > 500us (ms):", round(sum(w[0] for w in res if w[0] > 500)/1e3, 1), "of which investigation save:", round(sum(w[0] for w in res if w[0] > 500 and w[1] == "i_w1")/1e3, 1))
for w in res[:15]: print(f"  wait {w[0]:.0f}us holder {w[1]} queued-ahead {w[2]}")

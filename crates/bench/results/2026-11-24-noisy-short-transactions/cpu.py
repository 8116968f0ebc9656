import sys, collections
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 6]
# per timestamp, total CPU ticks per (pid-role, thread name)
snap = collections.OrderedDict()
for t, p, name, tid, u, s in rows:
    snap.setdefault(float(t), {})[(p, name, tid)] = int(u) + int(s)
times = list(snap)
pids = sorted({k[0] for v in snap.values() for k in v})
# find the window with the highest staunch CPU: print per-interval totals
prev = None
for t in times:
    cur = snap[t]
    if prev:
        d = collections.Counter()
        for k, v in cur.items():
            d[(k[0], k[1])] += v - prev[1].get(k, 0)
        tot = {p: sum(v for (pp, n), v in d.items() if pp == p) for p in pids}
        print(f"{t-times[0]:6.2f} " + " ".join(f"{p}:{tot[p]:3d}" for p in pids) + "  " + " ".join(f"{n}={v}" for (pp, n), v in sorted(d.items()) if v))
    prev = (t, cur)

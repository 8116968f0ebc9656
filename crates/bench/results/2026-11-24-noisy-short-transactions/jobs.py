"""Job batches from a server built with the stage patch: their lengths (j_begin1 to the
hand-over), and, when the per-job lines (j_due, j_job, j_flushed, j_committed) were printed
too, each step of a batch.
    python3 jobs.py SERVER_STDERR
"""
import collections, re, sys
INSTANT = re.compile(r"tv_sec: (\d+), tv_nsec: (\d+)")
ev = []
for l in open(sys.argv[1], errors="replace"):
    if l.startswith("STAGE"):
        s, n = INSTANT.findall(l)[0]; parts = l.split()
        ev.append((int(s)*1e9+int(n), parts[1], parts[2]))
ev.sort()

def st(x):
    x = sorted(x); return f"n={len(x)} p50={x[len(x)//2]:.0f} p90={x[int(len(x)*.9)]:.0f} p99={x[int(len(x)*.99)]:.0f} max={x[-1]:.0f}"

durs = []
j0 = None
for t, n, tag in ev:
    if n == "j_begin1": j0 = t
    elif n == "e_handed" and j0 is not None:
        durs.append((t - j0)/1e3); j0 = None
    elif n == "e_begin0": j0 = None
durs.sort()
print(len(durs), "job batches; p50 %.0f p90 %.0f p99 %.0f max %.0f us; sum %.0f ms" % (durs[len(durs)//2], durs[int(len(durs)*.9)], durs[int(len(durs)*.99)], durs[-1], sum(durs)/1e3))
print("over 3ms:", sum(1 for d in durs if d > 3000))

q = []; jobs = collections.defaultdict(list); fl = []; cm = []; counts = collections.Counter()
last = None; b1 = None
for t, n, tag in ev:
    if n == "j_begin1": b1 = t; last = t
    elif n == "j_due" and b1: q.append((t-last)/1e3); last = t; counts[tag] += 1
    elif n == "j_job" and b1: jobs[re.sub(r"\d+$", "", tag)+(" of B" if tag.endswith("3") else " of A")].append((t-last)/1e3); last = t
    elif n == "j_flushed" and b1: fl.append((t-last)/1e3); last = t
    elif n == "j_committed" and b1: cm.append((t-last)/1e3); b1 = None
if q:
    print("due query", st(q)); print("jobs per batch", counts.most_common(6))
    for k, v in jobs.items(): print("job", k, st(v))
    print("flush", st(fl)); print("commit", st(cm))

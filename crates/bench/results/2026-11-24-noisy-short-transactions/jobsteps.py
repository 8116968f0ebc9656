"""A job batch's steps (due query, each job, flush, commit) from a server built with the stage
patch plus per-job lines (j_due, j_job, j_flushed, j_committed).
    python3 jobsteps.py SERVER_STDERR
"""
import re, sys, collections
INSTANT = re.compile(r"tv_sec: (\d+), tv_nsec: (\d+)")
ev = []
for l in open(sys.argv[1], errors="replace"):
    if l.startswith("STAGE"):
        s, n = INSTANT.findall(l)[0]; parts = l.split()
        ev.append((int(s)*1e9+int(n), parts[1], parts[2]))
ev.sort()
q=[]; jobs=collections.defaultdict(list); fl=[]; cm=[]; counts=collections.Counter()
last=None; b1=None
for t,n,tag in ev:
    if n=="j_begin1": b1=t; last=t
    elif n=="j_due" and b1: q.append((t-last)/1e3); last=t; counts[tag]+=1
    elif n=="j_job" and b1: jobs[re.sub(r"\d+$","",tag)+(" of B" if tag.endswith("3") else " of A")].append((t-last)/1e3); last=t
    elif n=="j_flushed" and b1: fl.append((t-last)/1e3); last=t
    elif n=="j_committed" and b1: cm.append((t-last)/1e3); b1=None
def st(x):
    x=sorted(x); return f"n={len(x)} p50={x[len(x)//2]:.0f} p90={x[int(len(x)*.9)]:.0f} p99={x[int(len(x)*.99)]:.0f} max={x[-1]:.0f}"
print("due query", st(q)); print("jobs per batch", counts.most_common(6))
for k,v in jobs.items(): print("job",k,st(v))
print("flush", st(fl)); print("commit", st(cm))

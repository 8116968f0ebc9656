import sys, re
INSTANT = re.compile(r"tv_sec: (\d+), tv_nsec: (\d+)")
ev = []
for l in open(sys.argv[1], errors="replace"):
    if l.startswith("STAGE"):
        s, n = INSTANT.findall(l)[0]; parts = l.split()
        ev.append((int(s)*1e9+int(n), parts[1], parts[2]))
ev.sort()
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

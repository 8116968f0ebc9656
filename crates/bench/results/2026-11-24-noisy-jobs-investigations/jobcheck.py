import re, sys, bisect
INSTANT = re.compile(r"tv_sec: (\d+), tv_nsec: (\d+)")
ns = lambda l: [int(s)*1e9+int(n) for s, n in INSTANT.findall(l)]
ev = sorted((ns(l)[0], l.split()[1], l.split()[2]) for l in open(sys.argv[1]) if l.startswith("STAGE"))
times = [e[0] for e in ev]
after = before = 0
for l in open(sys.argv[2]):
    if not l.startswith("BENCH probe"): continue
    n = int(l.split()[2])
    if n < 205: continue
    sent, arr, post = ns(l)
    i = bisect.bisect_left(times, sent)
    parsed = None
    for t, nm, tag in ev[i:]:
        if t > arr: break
        if nm == "h_parsed" and parsed is None: parsed = t
        if nm == "e_applied" and tag == "[3]": break
        if nm == "j_begin0":
            if parsed is not None and t > parsed: after += 1
            else: before += 1
print("jobs started before B parsed:", before, "after:", after)

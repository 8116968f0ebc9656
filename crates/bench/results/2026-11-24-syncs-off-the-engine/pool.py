import json,glob,sys
def pct(xs,q):
    xs=sorted(xs); i=min(len(xs)-1,int(round(q*(len(xs)-1)))); return xs[i]
for pat in sys.argv[1:]:
    files=sorted(glob.glob(pat))
    allp=[]; within=0; idle=[]; rate=[]
    for f in files:
        n=json.load(open(f))['noisy'][0]
        allp+= [s['paged_ms'] for s in n['quiet_samples']]
        within+= n['p99_ratio']<=2
        idle.append(n['idle_p99_ms']); rate.append(n['flood_alerts_per_second'])
    print(f"{pat}: runs {len(files)} within2x {within} pooled n={len(allp)} p50 {pct(allp,.5):.2f} p90 {pct(allp,.9):.2f} p99 {pct(allp,.99):.2f} max {max(allp):.2f} idle-p99 med {pct(idle,.5):.2f} rate med {pct(rate,.5):.0f}")

import sys, collections
sys.argv = [sys.argv[0], sys.argv[1], sys.argv[2], "3"]
exec(open(__import__("os").path.join(__import__("os").path.dirname(__file__), "..", "2026-11-24-noisy-jobs-investigations", "nn.py")).read().split("SPANS = ")[0])
flood = [p for p in probes if p["n"] >= 205 and p.get("h_parsed") and p.get("e_enqueue")]
# label engine time segments: between consecutive engine events, label by (prev event, next event) and tag of transaction
eng = [(t,n,tag) for t,n,tag in events if n[:2] in ("e_","j_") and n != "e_enqueue"]
# transaction tag: find e_applied tag for the current tx
segs=[]; curtag="?"
for i in range(len(eng)-1):
    t,n,tag = eng[i]; t2,n2,tag2 = eng[i+1]
    if n2=="e_applied": curtag=tag2
    if n=="e_applied": curtag=tag
    lab = f"{n}->{n2}"
    if n2 in ("e_flushed","e_committed") or n in ("e_flushed",): lab += " " + ("A" if curtag=="[1]" else curtag)
    segs.append((t,t2,lab))
starts=[s[0] for s in segs]
def attribute(lo,hi,acc):
    i = max(0, bisect.bisect_right(starts, lo)-1)
    while i < len(segs) and segs[i][0] < hi:
        a,b,lab = segs[i]
        ov = max(0, min(b,hi)-max(a,lo))
        if ov>0: acc[lab]+=ov
        i+=1
for sel,name in ((flood,"all"), (sorted(flood,key=lambda p:p["h_parsed"]-p["e_enqueue"])[:20],"top20")):
    acc=collections.Counter()
    for p in sel: attribute(p["h_parsed"],p["e_enqueue"],acc)
    tot=sum(p["e_enqueue"]-p["h_parsed"] for p in sel)
    print(name, "total ms %.1f" % (tot/1e6))
    for k,v in acc.most_common(12): print(f"   {k:40s} {v/1e6:6.1f}")

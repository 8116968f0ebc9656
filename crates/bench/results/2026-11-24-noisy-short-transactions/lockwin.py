import sys
sys.argv = [sys.argv[0], sys.argv[1], sys.argv[2], "3"]
exec(open(__import__("os").path.join(__import__("os").path.dirname(__file__), "..", "2026-11-24-noisy-jobs-investigations", "nn.py")).read().split("SPANS = ")[0])
flood = [p for p in probes if p["n"] >= 205 and p.get("h_parsed") and p.get("e_enqueue")]
# intervals where engine waits for writer: e_begin0->e_begin1 and j_begin0->j_begin1; holders o_rec1->o_rec2, i_t1->i_t2
def intervals(a, b, pred=lambda tag: True):
    out=[]; start=None
    for t,n,tag in events:
        if n==a and pred(tag): start=t
        elif n==b and start is not None: out.append((start,t)); start=None
    return out
waits = intervals("e_begin0","e_begin1")+intervals("j_begin0","j_begin1")
recs = intervals("o_rec1","o_rec2"); idx = intervals("i_t1","i_t2")
def overlap(iv, lo, hi): return sum(max(0, min(b,hi)-max(a,lo)) for a,b in iv)
tot=sum((p["e_enqueue"]-p["h_parsed"]) for p in flood)
print("B to-engine total ms %.1f; engine waiting for writer inside: %.1f; outbox record held inside: %.1f; text index held inside: %.1f" % (tot/1e6, sum(overlap(waits,p["h_parsed"],p["e_enqueue"]) for p in flood)/1e6, sum(overlap(recs,p["h_parsed"],p["e_enqueue"]) for p in flood)/1e6, sum(overlap(idx,p["h_parsed"],p["e_enqueue"]) for p in flood)/1e6))
top = sorted(flood, key=lambda p: p["h_parsed"]-p["e_enqueue"])[:20]
print("top20 to-engine total ms %.1f; writer waits inside %.1f; outbox rec held %.1f" % (sum(p["e_enqueue"]-p["h_parsed"] for p in top)/1e6, sum(overlap(waits,p["h_parsed"],p["e_enqueue"]) for p in top)/1e6, sum(overlap(recs,p["h_parsed"],p["e_enqueue"]) for p in top)/1e6))
print("outbox records:", len(recs), "index txs:", len(idx))

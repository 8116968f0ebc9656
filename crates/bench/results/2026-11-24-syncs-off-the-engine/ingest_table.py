"""Ingest runs as table rows: Staunch's alerts/s (Alertmanager's in the same run), the ratio,
and the engine's commands per transaction, per batch size.

python3 ingest_table.py FILE.json ...
"""
import json
import sys

for path in sys.argv[1:]:
    points = json.load(open(path))["ingest"]
    cells = []
    for batch in (1, 10, 100):
        staunch = next(p for p in points if p["batch"] == batch and p["server"].startswith("staunch"))
        peer = next(p for p in points if p["batch"] == batch and p["server"] == "alertmanager")
        ratio = staunch["alerts_per_second"] / peer["alerts_per_second"]
        per_tx = (staunch["engine"] or {}).get("commands_per_transaction", float("nan"))
        cells.append(f"{staunch['alerts_per_second']:,.0f} ({peer['alerts_per_second']:,.0f}) {ratio:.2f}× | {per_tx:.1f}")
    print(f"| {path} | " + " | ".join(cells) + " |")

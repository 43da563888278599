"""`make bench` helpers and the core-floor integration.

- `main.py` + `.port/spec.yaml`: a tiny Ocean integration that yields raw
  PagerDuty objects from JSON-lines files (no API calls), so a run of it costs
  only what Ocean core costs: JQ mapping, diffing and upserts.
- `jsonl.py`: writing and reading those files in batches.
- `snapshot.py`: reading the objects from a running simulator, shaped exactly
  as the integration yields them (services with `__oncall_user`).
- `floors.py`: the rate floor; `measure.py`: peak PSS of a process tree and
  a description of the machine.
"""

"""Regenerates bench/results/robustness.md: the robustness suite's ledger, counted.

    .venv/bin/python bench/robustness.py

Runs `pytest tests/robustness` (the same suite `make test` runs) with the ledger written to JSON,
then tabulates it: hostile inputs tried per boundary, how many were refused with a clear message,
how many were handled, crashes, rows lost, guardrail violations, and of the texts planted in product
names how many got another price than the same facts under a neutral name (goals: 0, 0, 0, 0).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.baselines import machine_info  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "ledger.json"
        env = {**os.environ, "PRICING_ROBUSTNESS_REPORT": str(ledger)}
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/robustness"],
                             cwd=ROOT, env=env, capture_output=True, text=True)
        if not ledger.is_file():
            sys.exit(f"the suite wrote no ledger:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        t = json.loads(ledger.read_text())
    summary = run.stdout.strip().splitlines()[-1]
    rows = "\n".join(f"| {b} | {c.get('inputs', 0)} | {c.get('clear error', 0)} | {c.get('handled', 0)} | "
                     f"{c.get('crash', 0)} | {c.get('rows lost', 0)} | {c.get('guardrail violations', 0)} | "
                     f"{c.get('injection moved', 0)} of {c.get('injected', 0)} |"
                     for b, c in t["by boundary"].items())
    cases = "\n".join(f"| {c['boundary']} | {c['case'].replace('|', '/')} | {c['outcome']} | "
                      f"{'-' if c['injection_moved'] is None else ('yes' if c['injection_moved'] else 'no')} | "
                      f"{c['detail'].replace('|', '/').replace(chr(10), ' ')[:110]} |" for c in t["cases"])
    text = f"""# Robustness suite

Regenerate with `.venv/bin/python bench/robustness.py` (or `make bench`); the suite itself is
`tests/robustness/` and runs in `make test`. Run on {datetime.date.today().isoformat()}: {machine_info()}.
pytest: {summary}

**{t['inputs']} hostile inputs: {t['clear errors']} refused with a clear one-line message, {t['handled']} handled,
{t['crashes']} crashes, {t['rows lost']} rows lost, {t['guardrail violations']} guardrail violations;
of {t['injected']} texts planted in product names, {t['injection moved']} got a price other than the neutral name's.**

"Clear error" means the input was refused with one plain line naming the problem (a 4xx with a `message`, a
`CatalogError`, a sentence in the chat); "handled" means it was processed (bad rows reported in their `error`
column, the rest scored). Guardrail violations are counted on every price produced, including under a policy
that proposes absurd prices (negative, zero, sub-cent, 1e12, NaN, inf) and on the real model reading
instructions planted in product names. "Injected → other price" compares each planted name's price with
the price of the same facts under a neutral name (same policy, same seed): product names never reach the
model's prompt, and where the merchant set no bounds a default band (unit cost to 3x the highest price
seen) applies, so the goal is 0 here too.

| boundary | inputs | clear errors | handled | crashes | rows lost | guardrail violations | injected → other price |
|---|---:|---:|---:|---:|---:|---:|---:|
{rows}

## Every case

| boundary | case | outcome | injected → other price | detail |
|---|---|---|---|---|
{cases}
"""
    (RESULTS / "robustness.md").write_text(text)
    print(text.split("## Every case")[0])
    if run.returncode != 0:
        sys.exit(f"the robustness suite failed:\n{run.stdout[-3000:]}")


if __name__ == "__main__":
    main()

"""The robustness ledger: every hostile input the suite tries is counted by outcome.

Each test asserts its own cases (a crash fails the test), and also records them here. At the end
of the session the totals are printed and written to $PRICING_ROBUSTNESS_REPORT (JSON) when set;
`bench/robustness.py` turns that into bench/results/robustness.md.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass

import pytest


@dataclass
class Case:
    boundary: str  # catalog file, chat, product text, HTTP, fault
    case: str
    outcome: str  # "clear error" (refused with a one-line message) | "handled" (worked) | "crash"
    rows_lost: int = 0
    guardrail_violations: int = 0
    detail: str = ""
    # for text planted in a product name: 1 if its price differs from the same facts under a neutral name
    injection_moved: int | None = None


LEDGER: list[Case] = []


@pytest.fixture
def ledger():
    def record(boundary: str, case: str, outcome: str, rows_lost: int = 0, guardrail_violations: int = 0,
               detail: str = "", injection_moved: int | None = None) -> None:
        LEDGER.append(Case(boundary, case, outcome, rows_lost, guardrail_violations, detail[:200], injection_moved))

    return record


def totals() -> dict:
    by_outcome = Counter(c.outcome for c in LEDGER)
    boundaries = {}
    for c in LEDGER:
        b = boundaries.setdefault(c.boundary, Counter())
        b["inputs"] += 1
        b[c.outcome] += 1
        b["rows lost"] += c.rows_lost
        b["guardrail violations"] += c.guardrail_violations
        if c.injection_moved is not None:
            b["injected"] += 1
            b["injection moved"] += c.injection_moved
    injected = [c for c in LEDGER if c.injection_moved is not None]
    return {"injected": len(injected), "injection moved": sum(c.injection_moved for c in injected),
            "inputs": len(LEDGER), "clear errors": by_outcome["clear error"], "handled": by_outcome["handled"],
            "crashes": by_outcome["crash"], "rows lost": sum(c.rows_lost for c in LEDGER),
            "guardrail violations": sum(c.guardrail_violations for c in LEDGER),
            "by boundary": {k: dict(v) for k, v in boundaries.items()}, "cases": [asdict(c) for c in LEDGER]}


def pytest_terminal_summary(terminalreporter):
    if not LEDGER:
        return
    t = totals()
    terminalreporter.write_line(
        f"robustness: {t['inputs']} hostile inputs, {t['clear errors']} clear errors, {t['handled']} handled, "
        f"{t['crashes']} crashes, {t['rows lost']} rows lost, {t['guardrail violations']} guardrail violations, "
        f"{t['injection moved']} of {t['injected']} injected texts moved a price")
    path = os.environ.get("PRICING_ROBUSTNESS_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(t, f, indent=1)

"""Regenerates bench/results/merchant.md (+ .json): how well the chat reads merchants' messages into facts.

    .venv/bin/python bench/merchant.py

The messages and their gold facts come from `finetune.message_data` (seeded; English and Chinese; the
phrasings split into train and held-out families, so the held-out messages use phrasings the matcher was
never tuned on). Each message is read from scratch (`ui.facts.read_message` on empty facts) and compared
field by field with its gold:

* **right when stated**: of the messages that state the field, the share read exactly (amounts to the
  cent, percentages as fractions, sales as the same (units, price) rows in time order, the question asked);
* **invented when not stated**: of the messages that do not state it, the share where a value was read
  anyway (a wrong number the merchant never gave is worse than a question);
* **all fields right**: messages whose every field is right;
* latency: wall time of one `read_message` call, in milliseconds.

The "matcher as found" columns re-measure the matcher before issue 16's changes on the same messages: its
`ui/facts.py` is read from git (`--baseline-rev`, read-only `git show`) and loaded as a module of its own.
The LLM reader has a column but no numbers: it is not trained yet.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from finetune.message_data import FIELDS, MessageRecord, build_messages  # noqa: E402
from ui.facts import MerchantFacts, read_message  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LANGS = ("en", "zh")
BASELINE_REV = "4c6f7a4"  # main before issue 16's message reader: the matcher as found


def matcher_at(rev: str):
    """`ui/facts.py` as it was at git revision `rev`, loaded as a separate module (None if git cannot show it)."""
    try:
        source = subprocess.run(["git", "show", f"{rev}:ui/facts.py"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    spec = importlib.util.spec_from_loader(f"facts_at_{rev}", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's annotations through sys.modules
    exec(compile(source, f"{rev}:ui/facts.py", "exec"), module.__dict__)
    return module


def matcher_facts(message: str, facts_module=None) -> tuple[dict, bool]:
    """What the pattern matcher (of `facts_module`, default `ui.facts`) reads from `message` on empty facts,
    shaped like `GoldFacts`; and whether it refused the message (a ValueError: then nothing was read)."""
    read, empty = ((read_message, MerchantFacts) if facts_module is None
                   else (facts_module.read_message, facts_module.MerchantFacts))
    try:
        reading = read(message, empty())
    except ValueError:
        return {k: None for k in FIELDS} | {"sales": []}, True
    f = reading.facts
    question = getattr(reading, "question", None)  # the matcher as found has no `question`: derive it
    if question is None:
        question = ("reset" if reading.reset else "what_if" if reading.what_if is not None
                    else {"lower": "why_lower", "higher": "why_higher"}.get(reading.why_not or ""))
    return {"name": f.name or None, "unit_cost": f.unit_cost, "current_price": f.current_price,
            "competitor_price": f.competitor_price, "sales": [(s.units, s.price) for s in f.sales],
            "min_price": f.min_price, "max_price": f.max_price, "min_margin": f.min_margin,
            "max_change": f.max_change, "question": question, "what_if_price": reading.what_if}, False


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def same(field: str, gold, got) -> bool:
    if field == "sales":
        return len(gold) == len(got) and all(_close(g[0], u) and _close(g[1], p)
                                             for g, (u, p) in zip(gold, got, strict=True))
    if gold is None or got is None:
        return gold is None and got is None
    if field == "name":
        return " ".join(str(gold).split()).casefold() == " ".join(str(got).split()).casefold()
    if field == "question":
        return gold == got
    return _close(float(gold), float(got))


def stated(field: str, value) -> bool:
    return bool(value) if field == "sales" else value is not None


def evaluate(records: list[MessageRecord], facts_module=None) -> dict:
    """Per split and language: per-field counts, all-fields-right, refusals and latency."""
    out: dict = {}
    for rec in records:
        gold = rec.facts.model_dump()
        gold["sales"] = [(s["units"], s["price"]) for s in gold["sales"]]
        t0 = time.perf_counter()
        got, refused = matcher_facts(rec.message, facts_module)
        ms = (time.perf_counter() - t0) * 1000
        cell = out.setdefault(rec.split, {}).setdefault(rec.language, {
            "messages": 0, "all_right": 0, "refused": 0, "ms": [],
            "fields": {f: {"stated": 0, "right": 0, "not_stated": 0, "invented": 0} for f in FIELDS}})
        cell["messages"] += 1
        cell["refused"] += refused
        cell["ms"].append(ms)
        ok = True
        for f in FIELDS:
            c = cell["fields"][f]
            right = same(f, gold[f], got[f])
            ok &= right
            if stated(f, gold[f]):
                c["stated"] += 1
                c["right"] += right
            else:
                c["not_stated"] += 1
                c["invented"] += stated(f, got[f])
        cell["all_right"] += ok
    for split in out.values():
        for cell in split.values():
            ms = sorted(cell.pop("ms"))
            cell["latency_ms"] = {"median": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))],
                                  "mean": statistics.fmean(ms)}
    return out


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:.1f}%" if den else "–"


def machine_line() -> str:
    from agent.hardware import cpu_kind, cpu_model_name

    return (f"{platform.platform()}, {cpu_model_name()} CPU of kind {cpu_kind()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def render(result: dict) -> str:
    command, machine, date, n = result["command"], result["machine"], result["date"], result["messages"]
    now, before = result["matcher"], result["matcher_as_found"]
    lines = ["# Reading merchants' messages into facts", "",
             f"Made by `{command}` on {date}.", f"Run on: {machine}.", "",
             f"Messages: `finetune.message_data.build_messages(n_train={n['train']}, n_heldout={n['heldout']}, "
             f"seed={n['seed']})`, half English, half Simplified Chinese. The held-out messages use only "
             "phrasings (field wordings, time words, greetings, joints) of the held-out family: none of them was "
             "used to tune the pattern matcher (or will be used to train the LLM reader). Gold conventions "
             "(ranges read as their midpoint, sales in time order, percentages as fractions) are in that "
             "module's docstring.", "",
             "**The LLM reader is not trained yet**: its columns are empty on purpose; it gets numbers when a "
             "reader adapter exists and is measured on these same held-out messages.", ""]
    if before:
        lines += [f"\"Matcher as found\" is `ui.facts.read_message` before issue 16's reader changes (`ui/facts.py` "
                  f"at commit {result['baseline_rev']}), re-measured here on the same messages.", ""]

    def all_right(res: dict, split: str) -> str:
        return ", ".join(f"{lang} {_pct(res[split][lang]['all_right'], res[split][lang]['messages'])}"
                         for lang in LANGS)

    invented = sum(c["fields"][f]["invented"] for s in now.values() for c in s.values() for f in FIELDS)
    lines += ["**What it says.** Messages with every field right, matcher now: train phrasings "
              f"{all_right(now, 'train')}; held-out phrasings {all_right(now, 'heldout')}"
              + (f" (matcher as found: train {all_right(before, 'train')}; held-out {all_right(before, 'heldout')})"
                 if before else "")
              + f". Values read for fields a message does not state, matcher now: {invented} in all. A pattern "
              "matcher reads the wordings it was written for and little else: cue words it has never seen (\"set "
              "me back\", \"拿货价\", \"隔壁店\") leave their field unread, which the chat turns into a question, "
              "not a guess. Carrying over to unseen wordings is the LLM reader's job.", ""]
    for split, title in (("heldout", "Held-out phrasings"), ("train", "Train phrasings (the ones the matcher was "
                                                                       "tuned on)")):
        lines += [f"## {title}", "", "Right when stated (messages stating the field):", ""]
        head = ["field"]
        if before:
            head += [f"matcher as found, {lang}" for lang in LANGS]
        head += [f"matcher now, {lang}" for lang in LANGS] + ["LLM reader"]
        lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 2) + "---|"]
        for f in FIELDS:
            row = [f"`{f}`"]
            cols = ([before[split][lang] for lang in LANGS] if before else []) + [now[split][lang] for lang in LANGS]
            for cell in cols:
                c = cell["fields"][f]
                row.append(f"{_pct(c['right'], c['stated'])} ({c['stated']})")
            lines.append("| " + " | ".join(row + ["not trained yet"]) + " |")
        row = ["**all fields right**"]
        cols = ([before[split][lang] for lang in LANGS] if before else []) + [now[split][lang] for lang in LANGS]
        row += [f"{_pct(c['all_right'], c['messages'])} ({c['messages']})" for c in cols]
        lines += ["| " + " | ".join(row + ["not trained yet"]) + " |", "",
                  "Invented when not stated (a value read for a field the message does not state):", ""]
        lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 2) + "---|"]
        for f in FIELDS:
            row = [f"`{f}`"]
            for cell in cols:
                c = cell["fields"][f]
                row.append(f"{_pct(c['invented'], c['not_stated'])} ({c['not_stated']})")
            lines.append("| " + " | ".join(row + ["not trained yet"]) + " |")
        refused = [f"{_pct(c['refused'], c['messages'])}" for c in cols]
        lines += ["| messages refused (ValueError) | " + " | ".join(refused) + " | not trained yet |", ""]
    lines += ["## Latency per message (ms, one `read_message` call, all messages)", "",
              "| reader | language | median | 95th pct | mean |", "|---|---|---:|---:|---:|"]
    for label, res in ((("matcher as found", before),) if before else ()) + (("matcher now", now),):
        for lang in LANGS:
            ms = [res[s][lang]["latency_ms"] for s in ("train", "heldout")]
            lines.append(f"| {label} | {lang} | {max(m['median'] for m in ms):.3f} | {max(m['p95'] for m in ms):.3f} "
                         f"| {max(m['mean'] for m in ms):.3f} |")
    lines += ["| LLM reader | – | not trained yet | | |", "",
              "Latency is the worse of the train and held-out sets; the machine is shared (2 cores, other jobs "
              "running), so compare timings only within this table.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--heldout", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline-rev", default=BASELINE_REV,
                    help="git revision of the matcher as found ('' to leave those columns out)")
    ap.add_argument("--out", type=Path, default=RESULTS / "merchant.md")
    args = ap.parse_args()
    command = "python bench/merchant.py" + "".join(f" {a}" for a in sys.argv[1:])
    records = build_messages(args.train, args.heldout, args.seed)
    as_found = matcher_at(args.baseline_rev) if args.baseline_rev else None
    result = {"command": command, "date": datetime.date.today().isoformat(), "machine": machine_line(),
              "messages": {"train": args.train, "heldout": args.heldout, "seed": args.seed},
              "matcher": evaluate(records), "llm_reader": "not trained yet",
              "baseline_rev": args.baseline_rev if as_found else None,
              "matcher_as_found": evaluate(records, as_found) if as_found else None}
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    args.out.write_text(render(result))
    print(args.out.read_text())


if __name__ == "__main__":
    main()

"""Regenerates bench/results/merchant.md (+ .json): how well the chat reads merchants' messages into facts.

    .venv/bin/python bench/merchant.py

The messages and their gold facts come from `finetune.message_data` (seeded; English and Chinese; the
phrasings split into train and held-out families, so the held-out messages use phrasings the matcher was
never tuned on), and from the two blind sets of `bench/data/` (written by helpers who never saw either
family; see its README): "blind dev" is where the second round's fixes were read from, "blind test" is the
honest number. Each message is read from scratch (`ui.facts.read_message` on empty facts) and compared
field by field with its gold:

* **right when stated**: of the messages that state the field, the share read exactly (amounts to the
  cent, percentages as fractions, sales as the same (units, price) rows in time order, the question asked);
* **invented when not stated**: of the messages that do not state it, the share where a value was read
  anyway (a wrong number the merchant never gave is worse than a question);
* **all fields right**: messages whose every field is right;
* latency: wall time of one `read_message` call, in milliseconds.

Readers compared: "matcher as found" (the matcher before issue 16's changes: its `ui/facts.py` is read from
git, `--baseline-rev`, read-only `git show`, and loaded as a module of its own), "matcher now"
(`ui.message.extract`), "LLM alone" (the message-reader adapter's answer, checked against the message,
nothing filled in: what the model itself reads) and "LLM + matcher" (what the chat runs,
`ui.message_reader.MessageReader`: the model's reading, the matcher filling what it left out). The model's
answers are generated once per message (greedy, in batches), and both LLM columns are read from them; the
model reads every held-out message and the first `--llm-train` train ones (those it was trained on).
"""

from __future__ import annotations

import argparse
import dataclasses
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

from finetune.message_data import FIELDS, GoldFacts, MessageRecord, build_messages  # noqa: E402
from ui.facts import MerchantFacts, read_message  # noqa: E402
from ui.message import extract  # noqa: E402
from ui.message_reader import ADAPTER_DIR, MessageReader, from_answer, merged  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SPLITS = ("train", "heldout", "blind dev", "blind test")
BLIND_DIR = ROOT / "bench" / "data"
# The blind sets: messages and gold facts written by helpers who were told not to read the generator, the
# matcher, the reader's training data or the tests ("blind dev": what the second train family's failures were
# read from; "blind test": read by nobody before its numbers below; see bench/data/README.md).
BLIND_SETS = {"blind dev": "blind_messages_dev.jsonl", "blind test": "blind_messages_test.jsonl"}
FILES_DIR = ROOT / "tests" / "data"
LANGS = ("en", "zh")
BASELINE_REV = "4c6f7a4"  # main before issue 16's message reader: the matcher as found


@dataclasses.dataclass(frozen=True)
class WrittenMessage:
    """A message of a blind set: what `evaluate` reads of a `MessageRecord`."""

    message: str
    language: str
    facts: GoldFacts
    split: str


def blind_records() -> list[WrittenMessage]:
    """Every message of the blind sets that exist under bench/data/, with its set's name as its split."""
    out = []
    for split, name in BLIND_SETS.items():
        path = BLIND_DIR / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                out.append(WrittenMessage(row["message"], row["language"], GoldFacts(**row["facts"]), split))
    return out


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


def matcher_facts(message: str, facts_module=None, reader=extract) -> tuple[dict, bool]:
    """What `read_message` (of `facts_module`, default `ui.facts`, with `reader`) reads from `message` on
    empty facts, shaped like `GoldFacts`; and whether it refused the message (a ValueError: nothing read)."""
    if facts_module is None:
        read, empty = (lambda text, facts: read_message(text, facts, reader)), MerchantFacts
    else:
        read, empty = facts_module.read_message, facts_module.MerchantFacts
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


def evaluate(records: list[MessageRecord], facts_module=None, readers: dict | None = None,
             ms_each: dict | None = None) -> dict:
    """Per split and language: per-field counts, all-fields-right, refusals and latency.

    `readers` maps a message to its reader (an `Extraction` function) when not the matcher; `ms_each`
    gives a message's latency when it was not timed here (batched generation)."""
    out: dict = {}
    for rec in records:
        gold = rec.facts.model_dump()
        gold["sales"] = [(s["units"], s["price"]) for s in gold["sales"]]
        t0 = time.perf_counter()
        reader = readers[rec.message] if readers is not None else extract
        got, refused = matcher_facts(rec.message, facts_module, reader)
        ms = (time.perf_counter() - t0) * 1000 + (ms_each or {}).get(rec.message, 0.0)
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


# --- files: do merchants' own exports import without a manual fix? ---------------------------------------

FILE_SET = [  # (what it is, products file, history file or None), under tests/data/
    ("Shopify products export + orders export", "shop_exports/shopify_products_export.csv",
     "shop_exports/shopify_orders_export.csv"),
    ("Shopify products export alone", "shop_exports/shopify_products_export.csv", None),
    ("WooCommerce product export + order items export", "shop_exports/wc-product-export-18-2-2026.csv",
     "shop_exports/wc-order-export-items.csv"),
    ("Amazon Seller Central all-listings report (tabs, Windows-1252)", "shop_exports/All+Listings+Report.txt", None),
    ("German spreadsheet CSV (`;`, decimal commas, BOM, €, day-first dates)", "shop_exports/artikel_export_de.csv",
     None),
    ("catalog with `$1,009.00` + sales history by `date`", "merchant_files/catalog_with_dollars.csv",
     "merchant_files/sales_by_date.csv"),
    ("the same catalog saved as Excel .xlsx", "merchant_files/catalog_with_dollars.csv>xlsx",
     "merchant_files/sales_by_date.csv"),
    ("the German file saved as Excel \"Unicode text\" (UTF-16, tabs)", "shop_exports/artikel_export_de.csv>utf16",
     None),
    ("Etsy listings download (no cost column: the merchant must add unit costs)",
     "merchant_files/EtsyListingsDownload.csv", None),
]


def _materialise(name: str, tmp: Path) -> Path:
    """A file of FILE_SET: as committed, or converted the way a spreadsheet would save it (">xlsx", ">utf16")."""
    import pandas as pd

    from agent.catalog import read_table

    source, _, form = name.partition(">")
    path = FILES_DIR / source
    if not form:
        return path
    table = read_table(path)  # the committed file's cells, as text
    out = tmp / (path.stem + (".xlsx" if form == "xlsx" else ".txt"))
    if form == "xlsx":
        pd.DataFrame(table).to_excel(out, index=False)
    else:
        out.write_bytes(pd.DataFrame(table).to_csv(sep="\t", index=False).encode("utf-16"))
    return out


def file_imports() -> list[dict]:
    """Each file of FILE_SET read and turned into pricing contexts with no mapping and no edits."""
    import tempfile

    from agent.catalog import CatalogError, contexts_for, read_table

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, products, history in FILE_SET:
            row = {"file": label, "products": products, "history": history, "rows": 0, "scorable": 0, "error": ""}
            try:
                items = contexts_for(read_table(_materialise(products, Path(tmp))),
                                     read_table(_materialise(history, Path(tmp))) if history else None)
                row["rows"], row["scorable"] = len(items), sum(err is None for _, _, err in items)
                row["error"] = next((str(err) for _, _, err in items if err is not None), "")
            except CatalogError as err:
                row["error"] = str(err)
            row["as_is"] = row["rows"] > 0 and row["scorable"] == row["rows"]
            rows.append(row)
    return rows


def render_files(rows: list[dict]) -> list[str]:
    ok = sum(r["as_is"] for r in rows)
    lines = ["## Merchants' files", "",
             f"**{ok} of {len(rows)} real-looking files import without a manual fix** (no column mapping, no edits: "
             "every product row becomes a priced context through the one table reader, `agent.catalog`). The "
             "files are under `tests/data/` (platform exports with the columns and layouts the platforms document; "
             "two files built here from them the way a spreadsheet saves them).", "",
             "| file | product rows | scorable | as is | first error |", "|---|---:|---:|---|---|"]
    for r in rows:
        error = r["error"].replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(f"| {r['file']} | {r['rows']} | {r['scorable']} | {'yes' if r['as_is'] else 'no'} | {error} |")
    return lines + [""]


def _cell(res: dict, split: str, lang: str) -> dict | None:
    return res.get(split, {}).get(lang)


def render(result: dict) -> str:
    command, machine, date, n = result["command"], result["machine"], result["date"], result["messages"]
    readers: dict = result["readers"]
    now = readers["matcher now"]
    lines = ["# Reading merchants' messages into facts", "",
             f"Made by `{command}` on {date}.", f"Run on: {machine}.", "",
             f"Messages: `finetune.message_data.build_messages(n_train={n['train']}, n_heldout={n['heldout']}, "
             f"seed={n['seed']})`, half English, half Simplified Chinese. The held-out messages use only "
             "phrasings (field wordings, time words, greetings, joints) of the held-out family: none of them was "
             "used to tune the pattern matcher or to train the LLM reader. Gold conventions (ranges read as their "
             "midpoint, sales in time order, percentages as fractions) are in that module's docstring.", ""]
    llm = result.get("llm")
    if llm:
        lines += [f"LLM reader: `{llm['adapter']}` on the embedded model, {llm['dtype']}, greedy; trained on "
                  f"train-family messages only (`configs/finetune/reader.yaml`). It read every held-out message and "
                  f"the first {llm['train_messages']} train messages (which it was trained on). \"LLM alone\" is its "
                  "answer checked against the message (a number whose text is not in the message is dropped); "
                  "\"LLM + matcher\" is what the chat runs: the matcher fills what the model left out.", ""]
    else:
        lines += [f"**No LLM reader**: {result.get('llm_reader')}.", ""]
    if "matcher as found" in readers:
        lines += [f"\"Matcher as found\" is `ui.facts.read_message` before issue 16's reader changes (`ui/facts.py` "
                  f"at commit {result['baseline_rev']}), re-measured here on the same messages.", ""]
    names = list(readers)

    def all_right(res: dict, split: str) -> str:
        parts = [f"{lang} {_pct(c['all_right'], c['messages'])}" for lang in LANGS
                 if (c := _cell(res, split, lang)) is not None]
        return ", ".join(parts) or "–"

    lines += ["**Every field right, held-out phrasings:** " + "; ".join(
        f"{name} {all_right(res, 'heldout')}" for name, res in readers.items()) + ".", ""]
    if any(_cell(res, "blind test", lang) for res in readers.values() for lang in LANGS):
        lines += ["**Every field right, blind test messages:** " + "; ".join(
            f"{name} {all_right(res, 'blind test')}" for name, res in readers.items()) + ".", ""]
    invented = sum(c["fields"][f]["invented"] for s in now.values() for c in s.values() for f in FIELDS)
    lines += [f"Values read for fields a message does not state, matcher now: {invented} in all; the invented "
              "rows below give each reader's.", ""]
    head = ["field"] + [f"{name}, {lang}" for name in names for lang in LANGS]
    rule = "|---|" + "---:|" * (len(head) - 1)
    for split, title in (("blind test", "Blind test messages (written by a helper who never saw either reader's "
                                        "wordings; read by nobody before these numbers)"),
                         ("blind dev", "Blind dev messages (the same kind of set; the second train family's "
                                       "wordings and the matcher-first rule were read from its failures)"),
                         ("heldout", "Held-out phrasings"),
                         ("train", "Train phrasings (the matcher was tuned on them, the LLM trained on them)")):
        if not any(_cell(readers[name], split, lang) for name in names for lang in LANGS):
            continue
        cols = [_cell(readers[name], split, lang) for name in names for lang in LANGS]

        def fmt(c: dict | None, num: str, den: str, field: str) -> str:
            return "–" if c is None else f"{_pct(c['fields'][field][num], c['fields'][field][den])} " \
                                         f"({c['fields'][field][den]})"

        lines += [f"## {title}", "", "Right when stated (messages stating the field):", "",
                  "| " + " | ".join(head) + " |", rule]
        lines += ["| " + " | ".join([f"`{f}`"] + [fmt(c, "right", "stated", f) for c in cols]) + " |" for f in FIELDS]
        lines += ["| **all fields right** | " + " | ".join(
            "–" if c is None else f"{_pct(c['all_right'], c['messages'])} ({c['messages']})" for c in cols) + " |", "",
                  "Invented when not stated (a value read for a field the message does not state):", "",
                  "| " + " | ".join(head) + " |", rule]
        lines += ["| " + " | ".join([f"`{f}`"] + [fmt(c, "invented", "not_stated", f) for c in cols]) + " |"
                  for f in FIELDS]
        lines += ["| messages refused (ValueError) | " + " | ".join(
            "–" if c is None else _pct(c["refused"], c["messages"]) for c in cols) + " |", ""]
    lines += ["## Latency per message (ms)", "",
              "| reader | language | median | 95th pct | mean |", "|---|---|---:|---:|---:|"]
    for name, res in readers.items():
        for lang in LANGS:
            ms = [c["latency_ms"] for s in SPLITS if (c := _cell(res, s, lang)) is not None]
            if ms:
                lines.append(f"| {name} | {lang} | {max(m['median'] for m in ms):.1f} | "
                             f"{max(m['p95'] for m in ms):.1f} | {max(m['mean'] for m in ms):.1f} |")
    if llm:
        lines += ["", "LLM latency: each message read alone, as the chat reads it (`MessageReader.answers`: "
                  "`agent.generation.copy_generate`, greedy with prompt lookup), plus the matcher and the checks; "
                  f"the model's part alone: median {llm['model_ms']['median']:.0f} ms, max "
                  f"{llm['model_ms']['max']:.0f} ms over {llm['model_ms']['n']} messages."]
    lines += ["", "Latency is the worst of the message sets; the machine is shared (2 cores), so compare timings only "
              "within this table.", ""]
    if result.get("files"):
        lines += render_files(result["files"])
    return "\n".join(lines)


def llm_readings(records: list, reader: MessageReader) -> tuple[dict, dict, dict]:
    """(LLM-alone reader, LLM+matcher reader, ms) per message: the model's answer to each message read alone,
    as the chat reads it (`MessageReader.answers`), timed; both LLM columns are read from that one answer."""
    from tqdm import tqdm

    alone, both, ms = {}, {}, {}
    for text in tqdm([r.message for r in records], desc="LLM reader", unit="message"):
        t0 = time.perf_counter()
        answer = reader.answers([text])[0]
        ms[text] = (time.perf_counter() - t0) * 1000
        if answer is None:
            raise SystemExit(f"the LLM reader could not answer: {reader.active}")
        mine = from_answer(answer, text)
        alone[text] = (lambda _t, ex=mine: ex)
        both[text] = (lambda t, ex=mine: merged(ex, extract(t)))
    return alone, both, ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--heldout", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--llm-train", type=int, default=200, help="train messages the LLM reader reads (0: none)")
    ap.add_argument("--no-llm", action="store_true", help="leave the LLM reader out")
    ap.add_argument("--baseline-rev", default=BASELINE_REV,
                    help="git revision of the matcher as found ('' to leave those columns out)")
    ap.add_argument("--out", type=Path, default=RESULTS / "merchant.md")
    args = ap.parse_args()
    command = "python bench/merchant.py" + "".join(f" {a}" for a in sys.argv[1:])
    records = build_messages(args.train, args.heldout, args.seed) + blind_records()
    as_found = matcher_at(args.baseline_rev) if args.baseline_rev else None
    readers = {}
    if as_found:
        readers["matcher as found"] = evaluate(records, as_found)
    readers["matcher now"] = evaluate(records)
    result = {"command": command, "date": datetime.date.today().isoformat(), "machine": machine_line(),
              "messages": {"train": args.train, "heldout": args.heldout, "seed": args.seed},
              "baseline_rev": args.baseline_rev if as_found else None, "llm": None,
              "llm_reader": "left out (--no-llm)" if args.no_llm else None}
    if not args.no_llm:
        reader = MessageReader("llm")
        if reader.load() is None:
            result["llm_reader"] = f"not available ({reader.active})"
        else:
            subset = [r for r in records if r.split != "train"] + [r for r in records if r.split == "train"][
                :args.llm_train]
            alone, both, ms = llm_readings(subset, reader)
            readers["LLM alone"] = evaluate(subset, readers=alone, ms_each=ms)
            readers["LLM + matcher"] = evaluate(subset, readers=both, ms_each=ms)
            result["llm"] = {"adapter": str(ADAPTER_DIR.relative_to(ROOT)), "dtype": str(reader.load().dtype),
                             "train_messages": min(args.llm_train, args.train),
                             "model_ms": {"median": statistics.median(ms.values()), "max": max(ms.values()),
                                          "n": len(ms)}}
    result["readers"] = readers
    result["files"] = file_imports()
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    args.out.write_text(render(result))
    print(args.out.read_text())


if __name__ == "__main__":
    main()

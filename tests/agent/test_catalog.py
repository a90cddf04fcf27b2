"""Batch catalog scoring: formats, per-row errors, bad files, resuming after Ctrl-C and kill -9, the demo, the CLI."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import agent.catalog as catalog
import agent.catalog.partition as partition
from agent.catalog import (
    OUTPUT_COLUMNS,
    CatalogError,
    contexts_for,
    load_policy,
    parts_folder,
    read_table,
    score_files,
    score_frames,
)
from agent.cli import app
from agent.demo_catalog import demo_catalog_paths, write_demo_catalog
from agent.registry import product_policy
from env.pricers.thompson import ThompsonSampling

ROOT = Path(__file__).resolve().parents[2]
PRODUCTS, HISTORY = demo_catalog_paths()
runner = CliRunner()


class SlowTS(ThompsonSampling):
    """Thompson sampling that sleeps CATALOG_TEST_DELAY seconds per decision (for the kill -9 test)."""

    def act(self, context):
        time.sleep(float(os.environ.get("CATALOG_TEST_DELAY", "0")))
        return super().act(context)


class InterruptAfter(ThompsonSampling):
    """Thompson sampling that is 'Ctrl-C'ed after `n` decisions."""

    def __init__(self, n: int):
        super().__init__()
        self.left = n

    def act(self, context):
        self.left -= 1
        if self.left < 0:
            raise KeyboardInterrupt
        return super().act(context)


def demo(n: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    products, history = read_table(PRODUCTS), read_table(HISTORY)
    if n is not None:
        products = products.iloc[:n]
        history = history[history["sku"].isin(set(products["sku"]))]
    return products.reset_index(drop=True), history.reset_index(drop=True)


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers as numbers (what a Parquet or JSON export holds), missing as NaN/null."""
    out = df.copy()
    for c in out.columns:
        if c not in ("sku", "name"):
            out[c] = pd.to_numeric(out[c])
    return out


def write(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        typed(df).to_parquet(path, index=False)
    else:
        typed(df).to_json(path, orient="records", lines=True)
    return path


def errors(df: pd.DataFrame) -> list[str]:
    return ["" if pd.isna(e) else e for e in df["error"]]


def read_out(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_json(path, lines=True)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> pd.DataFrame:
    """The first 12 demo SKUs scored in memory with Thompson sampling."""
    products, history = demo(12)
    return score_frames(products, history, product_policy("ts"), batch_size=4)


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".jsonl"])
def test_formats_round_trip(tmp_path, baseline, ext):
    products, history = demo(12)
    out = tmp_path / f"out{ext}"
    summary = score_files(write(products, tmp_path / f"p{ext}"), write(history, tmp_path / f"h{ext}"), out,
                          product_policy("ts"), batch_size=4, chunk_size=5, progress=False)
    assert (summary.rows, summary.scored, summary.errors, summary.chunks) == (12, 12, 0, 3)
    got = read_out(out)
    assert list(got.columns) == list(OUTPUT_COLUMNS)
    assert got["sku"].tolist() == baseline["sku"].tolist()
    np.testing.assert_allclose(got["recommended_price"], baseline["recommended_price"])
    np.testing.assert_allclose(got["expected_profit"], baseline["expected_profit"])
    assert errors(got) == [""] * 12 and not parts_folder(out).exists()


def test_score_files_matches_score_frames_and_is_order_independent(tmp_path, baseline):
    out = tmp_path / "o.parquet"
    score_files(PRODUCTS, HISTORY, out, product_policy("ts"), batch_size=3, chunk_size=7, progress=False)
    got = pd.read_parquet(out)
    assert len(got) == 50 and got["sku"].is_unique
    np.testing.assert_allclose(got["recommended_price"][:12], baseline["recommended_price"])  # other batches too
    assert set(got["confidence"]) <= {"high", "medium", "low"}
    assert got["binding_rules"].str.len().gt(0).any() and got["rationale"].str.startswith("Recommended").all()


def test_combined_table_equals_separate_tables(tmp_path):
    products, history = demo(10)
    products = products.drop(columns=["competitor_price", "inventory"])  # per period only, in a combined table
    combined = history.merge(products, on="sku", how="left")
    with_history = products[products["sku"].isin(set(history["sku"]))].reset_index(drop=True)
    separate = score_frames(with_history, history, product_policy("ts"))
    for ext in (".csv", ".parquet"):
        out = tmp_path / f"c{ext}"
        summary = score_files(write(combined, tmp_path / f"combined{ext}"), None, out, product_policy("ts"),
                              chunk_size=3, progress=False)
        got = read_out(out)
        assert summary.rows == len(with_history)
        assert got["sku"].tolist() == separate["sku"].tolist()
        np.testing.assert_allclose(got["recommended_price"], separate["recommended_price"])
    in_memory = score_frames(combined, None, product_policy("ts"))
    np.testing.assert_allclose(in_memory["recommended_price"], separate["recommended_price"])
    new = products.head(1).assign(sku="NEW-1")  # a listing with no sales yet: one row, its history cells empty
    got = score_frames(pd.concat([combined, new], ignore_index=True), None, product_policy("ts"))
    assert got["sku"].iloc[-1] == new["sku"].iloc[0] and got["error"].iloc[-1] == ""
    assert "no usable history" in got["flags"].iloc[-1]


def test_combined_table_rows_that_disagree_are_an_error():
    products, history = demo(3)
    combined = history.merge(products, on="sku", how="left")
    combined.loc[combined.index[-1], "unit_cost"] = "1.00"
    got = score_frames(combined, None, product_policy("cost_plus"))
    bad = got.set_index("sku").loc[combined["sku"].iloc[-1], "error"]
    assert bad.startswith("unit_cost: differs")
    assert (got["error"] == "").sum() == 2


BAD_PRODUCTS = """sku,name,unit_cost,current_price,min_price,max_price,min_margin
GOOD-1,Ceramic mug,4.00,9.99,,,
NOCOST,Mug,,9.99,,,
NEGPRICE,Mug,4.00,-5,,,
NANCOST,Mug,NaN,9.99,,,
TEXT,Mug,4.00,abc,,,
DUP,Mug one,4.00,9.99,,,
MINMAX,Mug,4.00,9.99,20,10,
MARGIN,Mug,10.00,12.00,,15,0.5
BADHIST,Mug,4.00,9.99,,,
,No sku,4.00,9.99,,,
DUP,Mug two,4.00,9.99,,,
GOOD-2,Teapot,7.00,19.99,,,20%
"""

BAD_HISTORY = """sku,period,price,units
GOOD-1,0,9.99,10
GOOD-1,1,10.99,8
BADHIST,0,9.99,10
BADHIST,1,-1,10
GHOST,0,5,5
GHOST,1,5,5
GHOST,2,5,5
GOOD-2,2024-01-08,19.99,3
GOOD-2,2024-01-01,18.99,4
"""

EXPECTED_ERRORS = {
    "NOCOST": "unit_cost: missing",
    "NEGPRICE": "current_price: must be a price of at least 1e-06",
    "NANCOST": "unit_cost: not a finite number",
    "TEXT": "current_price: not a number ('abc')",
    "DUP": "sku: duplicate SKU, on 2 rows",
    "MINMAX": "guardrails: min_price (20.0) is above max_price (10.0)",
    "MARGIN": "guardrails conflict: min_margin requires a price of at least 20.00 but max_price is 15.00",
    "BADHIST": "history period 1: price: must be a price of at least 1e-06 (got '-1')",
    "": "sku: missing (products data row 10)",
}


def test_bad_rows_are_reported_and_the_rest_is_scored(tmp_path):
    (tmp_path / "p.csv").write_text(BAD_PRODUCTS)
    (tmp_path / "h.csv").write_text(BAD_HISTORY)
    out = tmp_path / "out.csv"
    summary = score_files(tmp_path / "p.csv", tmp_path / "h.csv", out, product_policy("ts"), chunk_size=4,
                          progress=False)
    got = read_out(out).fillna({"error": "", "sku": ""})
    assert len(got) == 12 and summary.rows == 12
    assert (summary.scored, summary.errors) == (2, 10)
    for sku, message in EXPECTED_ERRORS.items():
        for err in got.loc[got["sku"] == sku, "error"]:
            assert err.startswith(message), (sku, err)
    good = got[got["error"] == ""]
    assert good["sku"].tolist() == ["GOOD-1", "GOOD-2"] and good["recommended_price"].notna().all()
    assert summary.skipped_history_rows == 3 and summary.unknown_history_skus == 1
    assert any("'GHOST'" in w for w in summary.warnings)
    # the in-memory API reports the same per row
    items = contexts_for(read_table(tmp_path / "p.csv"), read_table(tmp_path / "h.csv"))
    assert [e for _, _, e in items if e] == got.loc[got["error"] != "", "error"].tolist()
    good2 = next(ctx for sku, ctx, _ in items if sku == "GOOD-2")
    assert good2.guardrails.min_margin == 0.2 and [r.period for r in good2.history] == [0, 1]  # dates, in order


def test_typed_files_tell_missing_from_nan(tmp_path):
    table = pa.table({"sku": ["A", "B", "C"], "unit_cost": pa.array([4.0, None, float("nan")], from_pandas=False),
                      "current_price": [9, 9, 9], "min_price": [None, 5.0, None]})
    pq.write_table(table, tmp_path / "p.parquet")
    got = score_frames(read_table(tmp_path / "p.parquet"), None, product_policy("cost_plus"))
    assert got["error"].tolist() == ["", "unit_cost: missing", "unit_cost: not a finite number ('nan')"]
    (tmp_path / "p.jsonl").write_text('{"sku": "A", "unit_cost": 4, "current_price": 9}\n'
                                      '{"sku": "B", "current_price": 9, "unit_cost": null}\n'
                                      '{"sku": "C", "unit_cost": NaN, "current_price": 9}\n')
    got = score_frames(read_table(tmp_path / "p.jsonl"), None, product_policy("cost_plus"))
    assert got["error"].tolist() == ["", "unit_cost: missing", "unit_cost: not a finite number ('nan')"]


def test_absurd_numbers_are_row_errors_that_name_the_field_and_the_limit():
    """Issue 13: 1e308 as a price, a cost or a count gave an infinite change, a "recommended" 1e308 or an
    OverflowError; now every such value is refused at the boundary, and no other row is touched."""
    products = pd.DataFrame({"sku": ["ok", "price", "cost", "hist-price", "hist-units"],
                             "unit_cost": [4, 4, 1e308, 4, 4], "current_price": [9, 1e308, 9, 9, 9]})
    history = pd.DataFrame({"sku": ["ok", "ok", "hist-price", "hist-price", "hist-units", "hist-units"],
                            "period": [0, 1, 0, 1, 0, 1], "price": [9, 10, 9, 1e308, 9, 10],
                            "units": [50, 40, 50, 40, 50, 1e308]})
    for policy in ("evidence", "cost_plus", "ts"):
        got = score_frames(typed(products), typed(history), product_policy(policy)).set_index("sku")
        assert got.loc["ok", "error"] == "" and np.isfinite(got.loc["ok", "recommended_price"])
        assert got.loc["price", "error"].startswith("current_price: above the plausibility limit of 1e+09")
        assert got.loc["cost", "error"].startswith("unit_cost: above the plausibility limit of 1e+09")
        assert got.loc["hist-price", "error"].startswith("history period 1: price: above the plausibility limit")
        assert got.loc["hist-units", "error"].startswith("history period 1: units: above the plausibility limit")


def _bad_file(tmp_path: Path, case: str) -> tuple[Path, Path | None]:
    p, h = tmp_path / "products.csv", tmp_path / "history.csv"
    p.write_text("sku,unit_cost,current_price\nA,1,2\n")
    h.write_text("sku,period,price,units\nA,0,2,5\n")
    if case == "missing_column":
        p.write_text("sku,name,current_price\nA,mug,2\n")
    elif case == "missing_history_columns":
        h.write_text("sku,period\nA,0\n")
    elif case == "empty_file":
        p.write_text("")
    elif case == "no_rows":
        h.write_text("sku,period,price,units\n")
    elif case == "jsonl_not_a_table":
        p = tmp_path / "products.jsonl"
        p.write_text('{"sku": "A", "unit_cost": 1, "current_price": 2}\n[1, 2]\n')
    elif case == "jsonl_broken":
        p = tmp_path / "products.jsonl"
        p.write_text('{"sku": "A", "unit_cost": 1, "current_price": 2}\n{"sku": \n')
    elif case == "parquet_garbage":
        p = tmp_path / "products.parquet"
        p.write_bytes(b"PAR1 this is not parquet at all")
    elif case == "binary_csv":
        p.write_bytes(bytes(range(256)) * 4)
    elif case == "unsupported":
        p = tmp_path / "products.xls"
        p.write_bytes(b"\xd0\xcf\x11\xe0")
    elif case == "xlsx_garbage":
        p = tmp_path / "products.xlsx"
        p.write_bytes(b"PK")
    elif case == "not_found":
        p = tmp_path / "nope.csv"
    return p, h


BAD_FILES = {
    "missing_column": "products.csv: missing required column 'unit_cost'",
    "missing_history_columns": "history.csv: missing required columns 'price', 'units'",
    "empty_file": "products.csv: empty file",
    "no_rows": "history.csv: empty table (no rows)",
    "jsonl_not_a_table": "products.jsonl: record 2 is not a JSON object",
    "jsonl_broken": "products.jsonl: line 2 is not valid JSON",
    "parquet_garbage": "products.parquet: not readable as PARQUET",
    "binary_csv": "products.csv: ",
    "unsupported": "products.xls: unsupported file type",
    "xlsx_garbage": "products.xlsx: not readable as XLSX",
    "not_found": "nope.csv: file not found",
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_one_clear_error(tmp_path, case):
    p, h = _bad_file(tmp_path, case)
    with pytest.raises(CatalogError) as info:
        score_files(p, h, tmp_path / "out.csv", product_policy("cost_plus"), progress=False)
    message = str(info.value)
    assert BAD_FILES[case] in message and "\n" not in message
    assert not (tmp_path / "out.csv").exists()


def _parts(out: Path) -> list[Path]:
    return sorted(parts_folder(out).glob("chunk-*.parquet"))


def test_resume_after_keyboard_interrupt_equals_an_uninterrupted_run(tmp_path):
    fresh, resumed = tmp_path / "fresh.csv", tmp_path / "resumed.csv"
    score_files(PRODUCTS, HISTORY, fresh, product_policy("ts"), batch_size=4, chunk_size=8, progress=False,
                policy_id="ts")
    with pytest.raises(KeyboardInterrupt):
        score_files(PRODUCTS, HISTORY, resumed, InterruptAfter(21), batch_size=4, chunk_size=8, progress=False,
                    policy_id="ts")
    assert len(_parts(resumed)) == 2 and not resumed.exists()
    assert not (parts_folder(resumed) / "lock").exists()
    summary = score_files(PRODUCTS, HISTORY, resumed, product_policy("ts"), batch_size=4, chunk_size=8,
                          progress=False, policy_id="ts")
    assert summary.resumed_chunks == 2 and summary.rows == 50
    assert resumed.read_bytes() == fresh.read_bytes()
    assert not parts_folder(resumed).exists()


def test_resume_after_kill_9_of_the_cli(tmp_path):
    out, fresh = tmp_path / "out.csv", tmp_path / "fresh.csv"
    args = ["score", str(PRODUCTS), str(HISTORY), "--policy", "tests.agent.test_catalog:SlowTS",
            "--chunk-size", "4", "--batch-size", "2", "--no-progress"]
    env = {**os.environ, "CATALOG_TEST_DELAY": "0.03"}
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", *args, "-o", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(_parts(out)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    done = len(_parts(out))
    assert 2 <= done < 13 and not out.exists()
    assert (parts_folder(out) / "lock").exists()  # left behind by the killed run: must not block the next
    r = runner.invoke(app, [*args, "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert f"resumed: {done} of 13 chunks were already done" in r.output
    r = runner.invoke(app, [*args, "-o", str(fresh)])
    assert r.exit_code == 0, r.output
    got = read_out(out)
    assert len(got) == 50 and got["sku"].is_unique and set(got["sku"]) == set(read_table(PRODUCTS)["sku"])
    assert out.read_bytes() == fresh.read_bytes()


def test_a_run_that_scored_nothing_does_not_block_the_next(tmp_path):
    """Issue 13: a header-only file failed, but left a manifest that refused every later run."""
    empty, good, out = tmp_path / "empty.csv", tmp_path / "good.csv", tmp_path / "out.csv"
    empty.write_text("sku,unit_cost,current_price\n")
    good.write_text("sku,unit_cost,current_price\nA,4,9\n")
    with pytest.raises(CatalogError, match="no rows"):
        score_files(empty, None, out, product_policy("cost_plus"), progress=False)
    summary = score_files(good, None, out, product_policy("cost_plus"), progress=False)
    assert (summary.rows, summary.errors) == (1, 0) and not parts_folder(out).exists()


def test_changed_input_with_stale_parts_is_refused_then_restarted(tmp_path):
    products = tmp_path / "p.csv"
    products.write_bytes(PRODUCTS.read_bytes())
    out = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt):
        score_files(products, HISTORY, out, InterruptAfter(10), chunk_size=8, progress=False, policy_id="ts")
    assert len(_parts(out)) == 1
    products.write_text(products.read_text().replace("28.67", "29.67", 1))  # the merchant edits a price
    with pytest.raises(CatalogError, match="different inputs or settings.*--no-resume"):
        score_files(products, HISTORY, out, product_policy("ts"), chunk_size=8, progress=False, policy_id="ts")
    with pytest.raises(CatalogError, match="different inputs or settings"):  # a changed setting too
        score_files(products, HISTORY, out, product_policy("ts"), chunk_size=16, progress=False, policy_id="ts")
    r = runner.invoke(app, ["score", str(products), str(HISTORY), "-o", str(out), "--policy", "ts",
                            "--chunk-size", "8"])
    assert r.exit_code == 2 and r.output.startswith("error: ") and len(r.output.strip().splitlines()) == 1
    summary = score_files(products, HISTORY, out, product_policy("ts"), chunk_size=8, resume=False, progress=False,
                          policy_id="ts")
    assert summary.resumed_chunks == 0
    fresh = tmp_path / "fresh.csv"
    score_files(products, HISTORY, fresh, product_policy("ts"), chunk_size=8, progress=False, policy_id="ts")
    assert out.read_bytes() == fresh.read_bytes()
    assert read_out(out).iloc[0]["current_price"] == 29.67


def test_small_buckets_read_each_once_and_change_nothing(tmp_path, monkeypatch):
    reference = tmp_path / "ref.csv"
    score_files(PRODUCTS, HISTORY, reference, product_policy("ts"), chunk_size=4, progress=False)
    calls = []
    real = partition.read_bucket
    monkeypatch.setattr(partition, "read_bucket", lambda folder, b: calls.append(b) or real(folder, b))
    monkeypatch.setattr(partition, "BUCKET_ROWS", 250)  # 4 SKUs hold about 110 history rows: 2 chunks per bucket
    monkeypatch.setattr(partition, "READ_ROWS", 97)
    small = tmp_path / "small.csv"
    score_files(PRODUCTS, HISTORY, small, product_policy("ts"), chunk_size=4, progress=False)
    assert calls == list(range(7))  # 13 chunks, 2 per bucket: every bucket read once, in order
    assert small.read_bytes() == reference.read_bytes()
    products, history = demo(20)
    combined = write(history.merge(products.drop(columns=["competitor_price", "inventory"]), on="sku"),
                     tmp_path / "combined.csv")
    calls.clear()
    score_files(combined, None, tmp_path / "c1.csv", product_policy("ts"), chunk_size=4, progress=False)
    assert calls == sorted(set(calls)) and len(calls) > 1
    monkeypatch.setattr(partition, "BUCKET_ROWS", 10**6)
    score_files(combined, None, tmp_path / "c2.csv", product_policy("ts"), chunk_size=4, progress=False)
    assert (tmp_path / "c1.csv").read_bytes() == (tmp_path / "c2.csv").read_bytes()


def test_csv_output_escapes_formulas(tmp_path):
    products = pd.DataFrame({
        "sku": ["@SUM(A1)", "-5", "PLAIN"],
        "name": ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "Mug - blue"],
        "unit_cost": ["4", "4", "4"], "current_price": ["9.99", "9.99", "bad"]})
    products.to_csv(tmp_path / "p.csv", index=False)
    for ext in (".csv", ".jsonl"):
        score_files(tmp_path / "p.csv", None, tmp_path / f"out{ext}", product_policy("cost_plus"), progress=False)
    with open(tmp_path / "out.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["sku"] for r in rows] == ["'@SUM(A1)", "-5", "PLAIN"]  # a plain number is not a formula
    assert rows[0]["name"] == """'=HYPERLINK("http://evil.example","click")"""
    assert rows[1]["name"].startswith("'+cmd") and rows[2]["name"] == "Mug - blue"
    assert rows[2]["error"] == "current_price: not a number ('bad')"
    jsonl = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert jsonl[0]["name"].startswith("=HYPERLINK")  # only CSV (spreadsheets) is escaped


def test_output_never_overwrites_an_input_and_write_table(tmp_path, baseline):
    products = tmp_path / "p.csv"
    products.write_bytes(PRODUCTS.read_bytes())
    with pytest.raises(CatalogError, match="would overwrite an input"):
        score_files(products, HISTORY, products, product_policy("ts"), progress=False)
    assert products.read_bytes() == PRODUCTS.read_bytes()
    for ext in (".csv", ".parquet", ".jsonl"):
        got = read_out(catalog.write_table(baseline, tmp_path / f"w{ext}"))
        np.testing.assert_allclose(got["recommended_price"], baseline["recommended_price"])


def test_demo_catalog_regenerates_identically(tmp_path):
    products, history = write_demo_catalog(tmp_path)
    assert products.read_bytes() == PRODUCTS.read_bytes()
    assert history.read_bytes() == HISTORY.read_bytes()
    p, h = read_table(PRODUCTS), read_table(HISTORY)
    assert len(p) == 50 and p["sku"].is_unique and set(h["sku"]) <= set(p["sku"])
    flat = h.groupby("sku")["price"].nunique()
    assert (flat == 1).sum() >= 3 and (flat >= 4).sum() >= 20  # informative variation, and some flat prices
    assert p["competitor_price"].notna().sum() >= 10 and p["inventory"].notna().sum() >= 5
    assert p["min_margin"].notna().any() and p["max_change"].notna().any() and (p["price_ending"] == "0.99").any()
    assert all(e == "" for e in score_frames(p, h, product_policy("cost_plus"))["error"])


def test_cli_score_and_recommend_on_the_demo(tmp_path):
    out = tmp_path / "scores.parquet"
    r = runner.invoke(app, ["score", str(PRODUCTS), str(HISTORY), "-o", str(out), "--policy", "ts",
                            "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "scored 50 of 50 SKUs, 0 with errors" in r.output and len(pd.read_parquet(out)) == 50
    sku = read_table(PRODUCTS)["sku"].iloc[3]
    r = runner.invoke(app, ["recommend", "--sku", sku, "--policy", "ts"])
    assert r.exit_code == 0, r.output
    for text in ("Recommended price:", "Expected profit per period:", "90% band", "Confidence:",
                 "Binding rules:", "Flags:", "Rationale: Recommended price"):
        assert text in r.output
    r = runner.invoke(app, ["recommend", "--sku", sku, "--policy", "cost_plus", "--products", str(PRODUCTS),
                            "--history", str(HISTORY), "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["sku"] == sku


@pytest.mark.parametrize(("args", "message"), [
    (["recommend", "--sku", "NOPE", "--policy", "ts"], "error: sku: 'NOPE' is not in"),
    (["recommend", "--sku", "X", "--history", "h.csv"], "error: history: give --products too"),
    (["recommend", "--sku", "NOCOST", "--products", "{bad}"], "error: SKU 'NOCOST': unit_cost: missing"),
    (["score", "{bad}", "-o", "{out}", "--policy", "astrology"], "unknown policy 'astrology'"),
    (["score", "{bad}", "-o", "{out}", "--policy", "no_such_module:Thing"], "error: policy: cannot load"),
    (["score", "{missing_col}", "-o", "{out}", "--policy", "ts"], "missing required column 'current_price'"),
    (["score", "{bad}", "-o", "{tmp}/out.xlsx", "--policy", "ts"], "out.xlsx: unsupported file type"),
    (["score", "{bad}", "-o", "{out}", "--policy", "ts", "--batch-size", "0"], "error: batch_size"),
])
def test_cli_user_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "bad.csv").write_text(BAD_PRODUCTS)
    (tmp_path / "missing.csv").write_text("sku,unit_cost\nA,1\n")
    paths = {"bad": tmp_path / "bad.csv", "missing_col": tmp_path / "missing.csv", "out": tmp_path / "o.csv",
             "tmp": tmp_path}
    r = runner.invoke(app, [a.format(**paths) for a in args])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_cli_score_reports_row_errors_and_skipped_history(tmp_path):
    (tmp_path / "p.csv").write_text(BAD_PRODUCTS)
    (tmp_path / "h.csv").write_text(BAD_HISTORY)
    r = runner.invoke(app, ["score", str(tmp_path / "p.csv"), str(tmp_path / "h.csv"), "-o",
                            str(tmp_path / "o.jsonl"), "--policy", "cost_plus", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "scored 2 of 12 SKUs, 10 with errors" in r.output
    assert "warning: skipped 3 history rows for 1 SKU(s) not in the products (e.g. 'GHOST')" in r.output


def test_custom_policy_specs():
    assert isinstance(load_policy("tests.agent.test_catalog:SlowTS"), SlowTS)
    with pytest.raises(ValueError, match="did not give a policy"):
        load_policy("json:JSONDecoder")
    with pytest.raises(ValueError, match="cannot be called without arguments"):
        load_policy("json:dumps")


class Fussy(ThompsonSampling):
    """Fails on one product (a numerical corner, say), or on every product when `broken`."""

    def __init__(self, bad: str = "", broken: bool = False):
        super().__init__()
        self.bad, self.broken = bad, broken

    def act(self, context):
        if self.broken or context.product.sku == self.bad:
            raise ArithmeticError("singular matrix")
        return super().act(context)


def test_a_product_that_breaks_the_policy_is_isolated_and_a_broken_policy_stops_the_run(tmp_path):
    products, history = demo(8)
    got = score_frames(products, history, Fussy(bad=products["sku"][2]), batch_size=4)
    assert errors(got)[2] == "scoring failed: ArithmeticError: singular matrix"
    assert errors(got).count("") == 7
    with pytest.raises(ArithmeticError):
        score_frames(products, history, Fussy(broken=True), batch_size=4)


def test_no_infinite_or_nan_number_ever_reaches_a_recommendation():
    """Issue 13, a seeded property sweep: products and histories with magnitudes from a tenth of a cent to
    past the plausibility limit. A row either has an error or a finite price; no output is ever ±inf."""
    rng = np.random.default_rng(13)
    n = 60
    magnitude = lambda size: 10.0 ** rng.uniform(-3, 10, size)  # noqa: E731 (up to 1e10: some beyond the limit)
    products = pd.DataFrame({"sku": [f"P{i}" for i in range(n)], "unit_cost": magnitude(n) * rng.uniform(0, 1, n),
                             "current_price": magnitude(n)})
    rows = [(f"P{i}", t, float(magnitude(1)[0]), float(magnitude(1)[0] * rng.uniform(0, 1)))
            for i in range(n) for t in range(int(rng.integers(0, 6)))]
    history = pd.DataFrame(rows, columns=["sku", "period", "price", "units"])
    numeric = [c for c in OUTPUT_COLUMNS if c not in ("sku", "name", "confidence", "binding_rules", "flags",
                                                      "rationale", "policy", "model_id", "adapter_id", "error")]
    for policy in ("evidence", "cost_plus", "ts"):
        got = score_frames(typed(products), typed(history), product_policy(policy))
        values = got[numeric].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        assert not np.isinf(values).any(), policy
        ok = got["error"].fillna("") == ""
        assert ok.sum() >= n // 3  # most rows are plausible and get a price
        assert np.isfinite(got.loc[ok, "recommended_price"].to_numpy(float)).all()
        assert (got.loc[ok, "recommended_price"] >= 0.01).all()
        assert got.loc[~ok, "error"].str.contains("plausibility limit|must be|not ").all()

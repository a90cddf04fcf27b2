"""Faults: a worker killed with SIGKILL during batch scoring and during training resumes, loses
nothing and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from agent.catalog import parts_folder, read_table
from agent.demo_catalog import demo_catalog_paths

pytestmark = [pytest.mark.slow, pytest.mark.robustness]

ROOT = Path(__file__).resolve().parents[2]
PRICING = [sys.executable, "-m", "agent.cli"]


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    try:
        while not ready() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()


def test_kill_9_during_batch_scoring(tmp_path, ledger):
    products, history = demo_catalog_paths()
    out = tmp_path / "scored.csv"
    args = [*PRICING, "score", str(products), str(history), "--policy", "tests.agent.test_catalog:SlowTS",
            "--chunk-size", "4", "--batch-size", "2", "--no-progress", "-o", str(out)]
    env = {**os.environ, "CATALOG_TEST_DELAY": "0.03"}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _kill_when(proc, lambda: len(list(parts_folder(out).glob("chunk-*.parquet"))) >= 3)
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(out, keep_default_na=False)
    expected = read_table(products)["sku"]
    lost = len(set(expected) - set(got["sku"]))
    duplicates = int(got["sku"].duplicated().sum())
    ledger("fault", "SIGKILL during batch scoring, then resume", "handled", rows_lost=lost,
           detail=f"{done.stdout.strip().splitlines()[-1][:120]}; duplicates {duplicates}")
    assert "resumed:" in done.stdout and lost == 0 and duplicates == 0 and len(got) == len(expected)


def test_kill_9_during_training(tmp_path, ledger):
    cfg = yaml.safe_load((ROOT / "configs/finetune/cpu-quick/sft.yaml").read_text())
    cfg.update(output_dir=str(tmp_path / "sft"), max_steps=60, save_steps=2)
    cfg["demos"]["output"] = str(tmp_path / "demos")
    config = tmp_path / "sft.yaml"
    config.write_text(yaml.safe_dump(cfg))
    args = [*PRICING, "finetune", "sft", "--config", str(config)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _kill_when(proc, lambda: any((tmp_path / "sft").glob("checkpoints/checkpoint-*/trainer_state.json")), timeout=300)
    assert not (tmp_path / "sft" / "adapter").exists()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    run = json.loads((tmp_path / "sft" / "run.json").read_text())
    newest = max((tmp_path / "sft").glob("checkpoints/checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    state = json.loads((newest / "trainer_state.json").read_text())
    steps = [e["step"] for e in state["log_history"] if "loss" in e]
    duplicates = len(steps) - len(set(steps))
    ledger("fault", "SIGKILL during SFT training, then resume", "handled",
           detail=f"resumed from {Path(run['resumed_from']).name}, {run['global_step']} steps, "
                  f"{duplicates} duplicated log steps")
    assert "checkpoint-" in run["resumed_from"] and run["global_step"] == 60 and duplicates == 0
    assert (tmp_path / "sft" / "adapter" / "adapter_model.safetensors").is_file()

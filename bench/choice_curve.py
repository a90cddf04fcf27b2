"""The compact adapters' choice, state by state, on validation markets: a cheap validation curve.

    .venv/bin/python bench/choice_curve.py --run runs/cpu-compact-margin/sft \
        --adapter margin-0=agent/adapters/pricing-compact-sft --tasks 48

Episode-level validation (`bench/finetune.py --split validation`) plays whole markets and costs
about 10 minutes per adapter on 2 cores; this asks one question per state instead: in the decision
states of `--tasks` validation markets (the demonstration states, `finetune.demonstrations`, of the
validation split: the same behaviours and periods as training, never the train tasks), which of the
toolbox's candidates does the adapter choose, and what is that worth under the true task
(`OracleScorer.relative`: 1 at the oracle's price, lower by the value lost in units of the oracle's
value per remaining period)? Beside every checkpoint of the run: the toolbox's rule and the
candidate worth most in hindsight (the bound of any picker) on the same states. About a minute per
checkpoint. Writes a markdown table and a plot (`--out`, default `bench/results/choice_curve.md`).
A state-level score ignores what a choice does to later histories, so the final pick between the
best checkpoints stays with the episode-level benchmark.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.candidates import rule_candidate  # noqa: E402
from agent.prompt import LAYOUT_FILE  # noqa: E402
from bench.baselines import machine_info  # noqa: E402
from finetune.config import DemoConfig  # noqa: E402
from finetune.demonstrations import best_candidate, labelled_states  # noqa: E402
from finetune.market_states import OracleScorer  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def run_checkpoints(run: Path) -> list[tuple[str, Path]]:
    """(name, folder) of every saved checkpoint of an SFT run and its final adapter, in step order.

    The trainer's checkpoints carry no prompt-layout file; the final adapter's is copied beside
    their weights so the agent renders the layout they were trained on.
    """
    final = run / "adapter"
    found = sorted((run / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    out = []
    for ckpt in found:
        if (final / LAYOUT_FILE).is_file() and not (ckpt / LAYOUT_FILE).is_file():
            shutil.copyfile(final / LAYOUT_FILE, ckpt / LAYOUT_FILE)
        out.append((f"step {ckpt.name.split('-')[-1]}", ckpt))
    if (final / "adapter_model.safetensors").is_file() and (run / "run.json").is_file():
        step = json.loads((run / "run.json").read_text())["global_step"]
        out = [(n, p) for n, p in out if n != f"step {step}"] + [(f"step {step}", final)]
    return out


def rl_rounds(run: Path) -> list[tuple[str, Path]]:
    """(name, folder) of every finished round of an RL run (`finetune.rl`), each as one standalone adapter.

    A round's LoRA was trained on the starting adapter merged into the base, so alone it is not a
    policy: it is folded with the starting adapter (`combine_adapters`, exact) into
    `<run>/combined/round-k`, made once and reused. Round 0 is the starting adapter itself.
    """
    from finetune.training import combine_adapters

    progress = run / "progress.json"
    if not progress.is_file():
        raise SystemExit(f"--rl-run {run}: no progress.json, not an RL run folder")
    info = json.loads(progress.read_text())
    init = info["config"].get("init_adapter")
    algorithm = info.get("algorithm", "rl")
    out = [(f"{algorithm} round 0", Path(init))] if init else []  # the starting adapter: where the curve begins
    for k in range(1, int(info["rounds_done"]) + 1):
        round_dir = run / "rounds" / f"round-{k:03d}"
        folder = run / "combined" / round_dir.name
        if init and not (folder / "adapter_model.safetensors").is_file():
            combine_adapters(init, round_dir, folder)
        out.append((f"{algorithm} round {k}", folder if init else round_dir))
    return out


def training_log(run: Path) -> str:
    """An RL run's own per-round numbers (`rounds.jsonl`), as a markdown section."""
    lines = [json.loads(x) for x in (run / "rounds.jsonl").read_text().splitlines() if x.strip()]
    rows = "\n".join(
        f"| {r['round']} | {r['states']} | {r['train_reward']:.4f} | {r['rollout_relative_value']:.4f} | "
        f"{r.get('validation_pct_oracle', float('nan')):.1f} | {r.get('validation_tasks', '—')} |" for r in lines)
    return f"""
## Training log of `{run.as_posix()}`

Per round, from the run's `rounds.jsonl`: the states trained on, the mean reward of the answers trained on
(the candidates' oracle-relative values for candidate groups), the mean oracle-relative value of the prices the
policy chose in that round's rollouts (sampled, fresh train tasks each round), and the round's episode-level
validation (% of oracle profit, greedy, the run's validation tasks).

| round | states | train reward | rollout value | validation % of oracle | validation tasks |
|---:|---:|---:|---:|---:|---:|
{rows}
"""


def choice_values(adapter: Path, demos: list, scorer: OracleScorer, batch: int) -> np.ndarray:
    """The relative value of the adapter's chosen candidate in every state (greedy)."""
    from agent.model import load_model
    from agent.policy import LLMPolicy

    policy = LLMPolicy(load_model(None, adapter=str(adapter)))
    if policy.lm.prompt_layout != "compact":
        raise SystemExit(f"{adapter}: not a compact-prompt adapter")
    prices = []
    for i in range(0, len(demos), batch):
        prices += [p.price for p in policy.propose_batch([d.state.context for d in demos[i:i + batch]])]
    return np.array([scorer.relative(d.state, p) for d, p in zip(demos, prices, strict=True)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, action="append", default=[], help="an SFT run folder (repeatable)")
    ap.add_argument("--rl-run", type=Path, action="append", default=[], help="an RL run folder: every round")
    ap.add_argument("--adapter", action="append", default=[], metavar="NAME=PATH", help="another adapter")
    ap.add_argument("--tasks", type=int, default=48)
    ap.add_argument("--steps-per-episode", type=int, default=6)
    ap.add_argument("--horizon", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--out", type=Path, default=RESULTS / "choice_curve.md")
    args = ap.parse_args()
    args.out = args.out.resolve()
    adapters: list[tuple[str, Path]] = []
    for run in args.run:
        adapters += [(f"{run.name if run.name != 'sft' else run.parent.name} {n}", p) for n, p in run_checkpoints(run)]
    for run in args.rl_run:
        adapters += rl_rounds(run)
    for text in args.adapter:
        name, sep, path = text.partition("=")
        if not sep or not (Path(path) / "adapter_model.safetensors").is_file():
            ap.error(f"--adapter: expected NAME=PATH with an adapter folder at PATH, got '{text}'")
        adapters.append((name, Path(path)))
    if not adapters:
        ap.error("nothing to measure: give --run, --rl-run or --adapter")

    cfg = DemoConfig(split="validation", n_tasks=args.tasks, steps_per_episode=args.steps_per_episode,
                     horizon=args.horizon, prompt="compact", label="best_candidate", seed=args.seed)
    demos = [d for d in labelled_states(cfg) if d.box is not None and d.box.candidates]
    scorer = OracleScorer()
    rule = np.array([scorer.relative(d.state, rule_candidate(d.box).price) for d in demos])
    hindsight = np.array([scorer.relative(d.state, best_candidate(d.state, d.box, scorer).price) for d in demos])
    rows = [("toolbox rule", rule, None), ("best candidate in hindsight", hindsight, None)]
    for name, folder in adapters:
        values = choice_values(folder, demos, scorer, args.batch)
        rows.append((name, values, folder))
        print(f"{name}: {values.mean():.4f}", flush=True)

    def line(name: str, v: np.ndarray, folder: Path | None) -> str:
        diff = v - rule
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if folder is not None else float("nan")
        delta = f"{diff.mean():+.4f} ± {1.96 * se:.4f}" if folder is not None else "—"
        where = folder.relative_to(ROOT).as_posix() if folder is not None and folder.is_relative_to(ROOT) else folder
        return f"| {name} | {v.mean():.4f} | {np.median(v):.4f} | {delta} | {where or ''} |"

    plot = args.out.with_name(args.out.stem + ".png")
    _plot(rows, rule.mean(), hindsight.mean(), plot)
    command = ".venv/bin/python bench/choice_curve.py " + " ".join(
        [*(f"--run {r.as_posix()}" for r in args.run), *(f"--rl-run {r.as_posix()}" for r in args.rl_run),
         *(f"--adapter {a}" for a in args.adapter),
         f"--tasks {args.tasks}", f"--seed {args.seed}"]
        + ([f"--out {args.out.relative_to(ROOT)}"] if args.out != RESULTS / "choice_curve.md" else []))
    text = f"""# The compact adapters' choice on validation states

Regenerate with `{command}`.
Run on {datetime.date.today().isoformat()}: {machine_info()}; greedy decoding, dtype auto.

{len(demos)} decision states of the first {args.tasks} validation tasks (T = {args.horizon},
{args.steps_per_episode} per episode, seed {args.seed}; states with at least one candidate). Value:
`OracleScorer.relative` of the chosen price (1 = the oracle's price; the loss in units of the
oracle's value per remaining period), mean and median over the states; Δ rule: paired mean
difference to the toolbox's rule with its 95% interval.

| adapter | mean value | median | Δ rule | folder |
|---|---:|---:|---:|---|
{chr(10).join(line(*r) for r in rows)}

![choice curve]({plot.name})
{"".join(training_log(run) for run in args.rl_run)}"""
    args.out.write_text(text)
    print(text)


def _plot(rows: list, rule: float, hindsight: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    series: dict[str, list[tuple[int, float]]] = {}
    others = []
    for name, v, _folder in rows[2:]:
        m = re.fullmatch(r"(.+) (step|round) (\d+)", name)
        if m:
            series.setdefault(m.group(1), []).append((int(m.group(3)), float(v.mean())))
        else:
            others.append((name, float(v.mean())))
    for run, points in series.items():
        ax.plot(*zip(*points, strict=True), marker="o", label=run)
    ax.axhline(rule, color="k", ls="--", lw=1, label="toolbox rule")
    ax.axhline(hindsight, color="g", ls=":", lw=1, label="best candidate (hindsight)")
    for (name, value), style in zip(others, ["-.", (0, (3, 1, 1, 1)), "-"], strict=False):
        ax.axhline(value, color="tab:red", ls=style, lw=1, label=name)
    ax.set_xlabel("optimiser step (SFT runs) or round (RL runs)")
    ax.set_ylabel("mean value of the choice (1 = oracle)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

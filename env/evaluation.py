"""The evaluation harness: run policies on seeded tasks, compare them with the oracle, report.

How the numbers are defined (every policy of one task sees the *same* demand noise: common
random numbers, so differences between policies are not luck):

* **% of oracle profit** (the headline) = 100 * sum_t E[profit of the policy's price | state]
  / sum_t E[profit of the oracle's price | the oracle's own state], the oracle run on the same
  task and noise. Expected (not realised) profits remove the noise from the comparison. The
  oracle is the exact per-period optimum on stateless tasks and the dynamic-programming plan on
  stateful ones (inventory, reference price); see `env.oracle`. With reactive competitors the
  oracle is a per-period best response, so a policy can exceed 100%.
* **regret** = the cumulative gap to the oracle's expected profit, in % of the oracle's total
  (so tasks of different scale average meaningfully); `regret_curve` is that gap over t.
* **revenue, profit** (realised), **margin** = mean (p - c) / p, **volatility** = mean
  |p_t - p_{t-1}| / p_{t-1} (a proxy for customer trust), **stockout rate** = share of periods
  in which demand exceeded stock (inventory tasks only).
* **collusion index** Delta = (pi - pi_N) / (pi_M - pi_N) for logit tasks with rivals and no
  seasonality: 0 at the one-shot Nash profit, 1 at the joint-profit (monopoly) one.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from env.distribution import sample_task
from env.episode import (
    Factories,
    OnStep,
    PolicyFactory,
    Trajectory,
    build_policy,
    check_policy_names,
    play_episode,
    play_episodes,
    policy_names,
    start_market,
)
from env.logit import task_equilibria
from env.oracle import OraclePolicy
from env.task import LogitDemand, TaskSpec

__all__ = ["EvaluationResult", "Factories", "PolicyFactory", "TaskRun", "Trajectory", "build_policy",
           "check_policy_names", "evaluate", "evaluate_task", "policy_names", "write_report"]


def _seed(*parts: int | str) -> int:
    ints = [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]
    return int(np.random.SeedSequence(ints).generate_state(1)[0])


def collusion_index(task: TaskSpec, expected_profits: np.ndarray) -> float:
    """Delta of this seller over the episode, or NaN where it is not defined for the task."""
    if not isinstance(task.demand, LogitDemand) or not task.competitors or task.seasonality.harmonics \
            or task.seasonality.spikes:
        return float("nan")
    eq = task_equilibria(task)
    span = eq.monopoly_profits[0] - eq.nash_profits[0]
    return float((expected_profits.mean() - eq.nash_profits[0]) / span) if span > 0 else float("nan")


def task_metrics(traj: Trajectory, oracle: Trajectory, task: TaskSpec, label: str) -> dict:
    oracle_total = oracle.expected_profits.sum()
    gap = np.cumsum(oracle.expected_profits - traj.expected_profits)
    scale = abs(oracle_total) if oracle_total else 1.0
    p = traj.prices
    return {
        "policy": label,  # the name the harness was asked for (variants of one class differ here)
        "task_id": traj.task_id,
        "pct_oracle": 100.0 * traj.expected_profits.sum() / scale,
        "regret_pct": 100.0 * gap[-1] / scale,
        "revenue": float(traj.revenue.sum()),
        "profit": float(traj.profits.sum()),
        "margin": float(np.mean((p - task.unit_cost) / p)),
        "volatility": float(np.mean(np.abs(np.diff(p)) / p[:-1])) if p.size > 1 else 0.0,
        "stockout_rate": float(traj.stockouts.mean()) if task.inventory is not None else float("nan"),
        "collusion_index": collusion_index(task, traj.expected_profits),
        "act_ms": 1000.0 * traj.act_seconds / max(p.size, 1),
        "episode_s": traj.episode_seconds,
        "regret_curve": (100.0 * gap / scale).tolist(),
        "prices": p.tolist(),
    }


@dataclass
class TaskRun:
    """Policies on one task: a metrics row per policy (in the order asked) and every policy's
    per-period trajectory by the same label, the oracle's always included (under `oracle`)."""

    rows: list[dict]
    trajectories: dict[str, Trajectory]

    @property
    def oracle(self) -> Trajectory:
        return self.trajectories["oracle"]


Progress = Callable[[str, int, int], None]  # (policy label, periods done, horizon) after each decision


def _ticker(progress: Progress | None, label: str, horizon: int) -> OnStep | None:
    """`progress(label, t, horizon)` after the t-th decision of one episode (t = 1, 2, ...)."""
    if progress is None:
        return None
    done = 0

    def tick(*_step) -> None:
        nonlocal done
        done += 1
        progress(label, done, horizon)

    return tick


def _play_named(task: TaskSpec, names: Sequence[str], seed: int, oracle: Trajectory,
                factories: Factories | None, progress: Progress | None = None) -> TaskRun:
    """Plain (one-market) policies on one task, each against the oracle run `oracle`."""
    episode_seed = _seed(task.seed, seed)
    run = TaskRun([], {"oracle": oracle})
    for name in names:
        traj = oracle if name == "oracle" else play_episode(
            build_policy(name, task, factories), task, episode_seed, _seed(seed, task.task_id, name), factories,
            on_step=_ticker(progress, name, task.horizon))
        run.trajectories[name] = traj
        run.rows.append(task_metrics(traj, oracle, task, name))
    return run


def evaluate_task(task: TaskSpec, policies: Sequence[str], seed: int, factories: Factories | None = None,
                  progress: Progress | None = None) -> TaskRun:
    """All policies (and the oracle) on one task with common random numbers.

    A name in `factories` is built by its factory (the web simulator makes the LLM take a shared
    lock per decision); the others are the oracle and the classical pricers. `progress(label, t,
    horizon)` runs after each decision, the oracle's first (as `oracle`), then each policy's in
    order: it changes no number, and an exception it raises stops the run (the web simulator's Stop).
    """
    oracle = play_episode(OraclePolicy(task), task, _seed(task.seed, seed), 0, factories,
                          on_step=_ticker(progress, "oracle", task.horizon))
    return _play_named(task, policies, seed, oracle, factories, progress)


def _evaluate_job(args: tuple[TaskSpec, tuple[str, ...], int]) -> TaskRun:
    return evaluate_task(*args)


def run_lockstep(policy, tasks: Sequence[TaskSpec], episode_seeds: Sequence[int],
                 progress: tqdm | None = None, factories: Factories | None = None) -> list[Trajectory]:
    """Plays one batched policy on several tasks at once: one `act_batch` call per period.

    For policies whose cost is a batched forward pass (the LLM), this turns N x T single
    generations into T batched ones. Such a policy must not keep per-task state between calls:
    each context carries all it may use.
    """
    markets = [start_market(task, seed, factories) for task, seed in zip(tasks, episode_seeds, strict=True)]
    return play_episodes(policy, markets, batched=True, progress=progress)


def bootstrap_ci(values: np.ndarray, seed: int = 0, n: int = 2000) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean (seeded, so reports are reproducible)."""
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (n, values.size))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


@dataclass
class EvaluationResult:
    """Per-task rows and per-policy summary of one harness run, with its settings."""

    settings: dict
    per_task: pd.DataFrame
    # each policy's per-period trajectories, by the label asked for, in the order of the tasks
    trajectories: dict[str, list[Trajectory]] = field(default_factory=dict)
    summary: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.summary = summarise(self.per_task)

    def regret_curves(self) -> dict[str, np.ndarray]:
        return {name: np.mean(np.stack(group["regret_curve"].to_list()), axis=0)
                for name, group in self.per_task.groupby("policy", sort=False)}

    def to_json(self) -> str:
        table = self.per_task.drop(columns=["regret_curve", "prices"])
        return json.dumps({"settings": self.settings,
                           "summary": self.summary.to_dict(orient="records"),
                           "per_task": table.to_dict(orient="records"),
                           "regret_curves": {k: v.tolist() for k, v in self.regret_curves().items()}},
                          indent=1, default=float)

    def to_markdown(self) -> str:
        return summary_markdown(self.summary)


def summarise(per_task: pd.DataFrame) -> pd.DataFrame:
    """One row per policy. `wall_s` sums the policy's episode times (simulation included) over tasks."""
    rows = []
    for name, g in per_task.groupby("policy", sort=False):
        lo, hi = bootstrap_ci(g["pct_oracle"].to_numpy())
        rows.append({
            "policy": name, "tasks": len(g),
            "pct_oracle": g["pct_oracle"].mean(), "pct_ci_low": lo, "pct_ci_high": hi,
            "pct_oracle_median": g["pct_oracle"].median(),
            "regret_pct": g["regret_pct"].mean(),
            "volatility": g["volatility"].mean(), "margin": g["margin"].mean(),
            "stockout_rate": g["stockout_rate"].mean(skipna=True) if g["stockout_rate"].notna().any() else float("nan"),
            "collusion_index": g["collusion_index"].mean(skipna=True) if g["collusion_index"].notna().any()
            else float("nan"),
            "act_ms": g["act_ms"].mean(),
            "wall_s": g["episode_s"].sum(),
        })
    return pd.DataFrame(rows)


def _fmt(x: float, digits: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def summary_markdown(summary: pd.DataFrame) -> str:
    lines = ["| policy | tasks | % of oracle profit (95% CI) | median % | regret (% of oracle) "
             "| volatility (mean abs Δp/p) | margin | stockout rate | ms / decision | wall s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary.sort_values("pct_oracle", ascending=False).itertuples():
        ci = f" ({_fmt(r.pct_ci_low)}–{_fmt(r.pct_ci_high)})" if np.isfinite(r.pct_ci_low) else ""
        lines.append(
            f"| {r.policy} | {r.tasks} | {_fmt(r.pct_oracle)}{ci} "
            f"| {_fmt(r.pct_oracle_median)} | {_fmt(r.regret_pct)} | {_fmt(r.volatility, 3)} | {_fmt(r.margin, 2)} "
            f"| {_fmt(r.stockout_rate, 3)} | {_fmt(r.act_ms, 2)} | {_fmt(r.wall_s)} |")
    return "\n".join(lines) + "\n"


def evaluate(policies: Sequence[str], split: str = "test", n_tasks: int = 200, horizon: int = 50,
             seed: int = 0, workers: int = 2, progress: bool = True,
             tasks: Sequence[TaskSpec] | None = None, batch_size: int = 32,
             factories: Factories | None = None) -> EvaluationResult:
    """Runs every policy on `n_tasks` tasks of `split` (or on the given `tasks`), in parallel.

    The oracle and the classical pricers run per task in `workers` processes, built there by name.
    A name in `factories` (an in-process policy: the agent's, `agent.registry.in_process_policies`)
    is built by its factory and plays in this process: with an `act_batch` method in lock-step over
    `batch_size` tasks at a time (its batched forward pass uses the cores), else task by task while
    the workers run. The numbers do not depend on where a policy ran.
    """
    factories = dict(factories or {})
    policies = tuple(dict.fromkeys(policies))
    check_policy_names(policies, factories)
    if n_tasks < 1 and tasks is None:
        raise ValueError("tasks: need at least one task")
    if horizon < 1:
        raise ValueError("horizon: must be at least 1")
    tasks = list(tasks) if tasks is not None else [sample_task(split, i, horizon) for i in range(n_tasks)]
    local = [n for n in policies if n in factories and n != "oracle"]
    probes = {n: factories[n](tasks[0]) for n in local}
    batched = [n for n in local if hasattr(probes[n], "act_batch")]
    plain = tuple(n for n in policies if n not in batched)
    local_plain = tuple(n for n in plain if n in local)
    remote = tuple(n for n in plain if n not in local)  # with the oracle's run, per task in the workers
    # a rival that is an in-process policy can only be built in this process
    here = workers <= 1 or any(c.kind == "policy" and c.policy in factories for t in tasks for c in t.competitors)
    started = time.perf_counter()
    bar = tqdm(total=len(tasks), desc="evaluating", unit="task", disable=not progress)
    runs: list[TaskRun] = []
    if here:
        for task in tasks:
            runs.append(evaluate_task(task, plain, seed, factories))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            jobs = [(t, remote, seed) for t in tasks]
            for task, run in zip(tasks, pool.map(_evaluate_job, jobs, chunksize=max(1, len(jobs) // (workers * 8))),
                                 strict=True):
                if local_plain:  # played here while the workers go on
                    mine = _play_named(task, local_plain, seed, run.oracle, factories)
                    by_label = {r["policy"]: r for r in run.rows + mine.rows}
                    run = TaskRun([by_label[n] for n in plain], {**run.trajectories, **mine.trajectories})
                runs.append(run)
                bar.update()
    bar.close()
    rows = [row for run in runs for row in run.rows]
    for name in batched:
        policy = probes[name]
        policy.reset(_seed(seed, name))
        decisions = tqdm(total=sum(t.horizon for t in tasks), desc=name, unit="decision", disable=not progress)
        for start in range(0, len(tasks), batch_size):
            chunk = tasks[start:start + batch_size]
            trajs = run_lockstep(policy, chunk, [_seed(t.seed, seed) for t in chunk], decisions, factories)
            for run, task, traj in zip(runs[start:start + batch_size], chunk, trajs, strict=True):
                run.trajectories[name] = traj
                rows.append(task_metrics(traj, run.oracle, task, name))
        decisions.close()
    per_task = pd.DataFrame(rows)
    total = time.perf_counter() - started
    settings = {"policies": list(policies), "split": split, "n_tasks": len(tasks), "horizon": horizon,
                "seed": seed, "workers": workers, "batch_size": batch_size, "total_wall_s": total}
    return EvaluationResult(settings, per_task, {n: [run.trajectories[n] for run in runs] for n in policies})


def _style(names: Sequence[str]) -> dict[str, dict]:
    """One colour per policy, the same in every plot of a run; the oracle is a black dashed line."""
    others = [n for n in names if n != "oracle"]
    styles = {n: {"color": f"C{i % 10}"} for i, n in enumerate(others)}
    styles["oracle"] = {"color": "black", "lw": 2, "ls": "--"}
    return styles


def _save_chart(draw: Callable, xlabel: str, ylabel: str, title: str, path: Path) -> Path:
    """One line chart in the project's style: `draw(ax)` adds the lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    draw(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_regret(result: EvaluationResult, path: Path) -> Path:
    curves = result.regret_curves()
    styles = _style(list(curves))

    def draw(ax) -> None:
        for name, curve in curves.items():
            ax.plot(np.arange(1, curve.size + 1), curve, label=name, **styles[name])

    title = f"Regret on {result.settings['n_tasks']} {result.settings['split']} tasks"
    return _save_chart(draw, "period", "cumulative regret (% of oracle profit)", title, path)


def plot_price_paths(paths: dict[str, Sequence[float]], title: str, path: Path) -> Path:
    styles = _style(list(paths))

    def draw(ax) -> None:
        for name, prices in paths.items():
            ax.step(np.arange(len(prices)), prices, where="post", label=name, **styles[name])

    return _save_chart(draw, "period", "price", title, path)


def write_report(result: EvaluationResult, out_dir: Path, example_task: str | None = None) -> dict[str, Path]:
    """Writes results.json, results.md, regret.png and prices.png (one task's price paths)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"json": out_dir / "results.json", "markdown": out_dir / "results.md",
             "regret_plot": out_dir / "regret.png", "price_plot": out_dir / "prices.png"}
    files["json"].write_text(result.to_json())
    files["markdown"].write_text(result.to_markdown())
    plot_regret(result, files["regret_plot"])
    task_id = example_task or result.per_task["task_id"].iloc[0]
    rows = result.per_task[result.per_task["task_id"] == task_id]
    paths = dict(zip(rows["policy"], rows["prices"], strict=True))
    plot_price_paths(paths, f"Price paths on {task_id}", files["price_plot"])
    return files

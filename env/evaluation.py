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
import math
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from env.context import Policy
from env.distribution import sample_task
from env.logit import task_equilibria
from env.market import Market
from env.oracle import OraclePolicy
from env.task import LogitDemand, TaskSpec

PolicyFactory = Callable[[TaskSpec], Policy]
_FACTORIES: dict[str, PolicyFactory] = {}


def register_policy(name: str, factory: PolicyFactory) -> None:
    """Makes a policy available to the harness by name (the agent registers the LLM this way)."""
    _FACTORIES[name] = factory


def policy_names() -> list[str]:
    from env.pricers import PRICER_NAMES

    return ["oracle", *PRICER_NAMES, *_FACTORIES]


def build_policy(name: str, task: TaskSpec) -> Policy:
    """A fresh policy for one task. Only the oracle reads the task; the others see contexts."""
    if name == "oracle":
        return OraclePolicy(task)
    if name in _FACTORIES:
        return _FACTORIES[name](task)
    from env.pricers import make_pricer

    return make_pricer(name)


def check_policy_names(names: Sequence[str]) -> None:
    known = policy_names()
    for n in names:
        if n not in known:
            raise ValueError(f"policies: unknown policy '{n}' (choose from {', '.join(known)})")


def _seed(*parts: int | str) -> int:
    ints = [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]
    return int(np.random.SeedSequence(ints).generate_state(1)[0])


@dataclass
class Trajectory:
    """One policy's episode on one task."""

    policy: str
    task_id: str
    prices: np.ndarray
    units: np.ndarray
    profits: np.ndarray
    expected_profits: np.ndarray
    stockouts: np.ndarray
    act_seconds: float
    episode_seconds: float


def start_market(task: TaskSpec, episode_seed: int) -> Market:
    """A market on the noise of `episode_seed`, with pricers built for any policy rivals."""
    rivals = {i: build_policy(c.policy, task) for i, c in enumerate(task.competitors) if c.kind == "policy"}
    market = Market(task, rivals)
    market.reset(episode_seed)
    return market


def _finite_price(price: float, policy: Policy, task: TaskSpec) -> float:
    price = float(price)
    if not math.isfinite(price):
        raise ValueError(f"policy {policy.name} returned a non-finite price on {task.task_id}")
    return price


def _trajectory(policy: Policy, task: TaskSpec, steps: list, act_seconds: float, episode_seconds: float) -> Trajectory:
    def column(attr: str, dtype=float) -> np.ndarray:
        return np.array([getattr(s, attr) for s in steps], dtype=dtype)

    return Trajectory(policy.name, task.task_id, column("price"), column("units"), column("profit"),
                      column("expected_profit"), column("stockout", bool), act_seconds, episode_seconds)


def run_episode(policy: Policy, task: TaskSpec, episode_seed: int, policy_seed: int) -> Trajectory:
    """Runs `policy` for the task's horizon on the demand noise of `episode_seed`."""
    episode_start = time.perf_counter()
    market = start_market(task, episode_seed)
    policy.reset(policy_seed)
    steps = []
    spent = 0.0
    while not market.done:
        context = market.context()
        start = time.perf_counter()
        price = _finite_price(policy.act(context), policy, task)
        spent += time.perf_counter() - start
        steps.append(market.step(price))
    return _trajectory(policy, task, steps, spent, time.perf_counter() - episode_start)


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
        "revenue": float((p * traj.units).sum()),
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


def evaluate_task(task: TaskSpec, policies: Sequence[str], seed: int,
                  build: Callable[[str, TaskSpec], Policy] = build_policy) -> tuple[list[dict], Trajectory]:
    """All policies (and the oracle) on one task with common random numbers; also the oracle's run.

    `build` makes each named policy for the task; a caller can wrap what `build_policy` returns
    (the web simulator makes the LLM take a shared lock per decision).
    """
    episode_seed = _seed(task.seed, seed)
    oracle = run_episode(OraclePolicy(task), task, episode_seed, 0)
    rows = []
    for name in policies:
        traj = oracle if name == "oracle" else run_episode(
            build(name, task), task, episode_seed, _seed(seed, task.task_id, name))
        rows.append(task_metrics(traj, oracle, task, name))
    return rows, oracle


def _evaluate_job(args: tuple[TaskSpec, tuple[str, ...], int]) -> tuple[list[dict], Trajectory]:
    return evaluate_task(*args)


def run_lockstep(policy, tasks: Sequence[TaskSpec], episode_seeds: Sequence[int],
                 progress: tqdm | None = None) -> list[Trajectory]:
    """Plays one batched policy on several tasks at once: one `act_batch` call per period.

    For policies whose cost is a batched forward pass (the LLM), this turns N x T single
    generations into T batched ones. Such a policy must not keep per-task state between calls:
    each context carries all it may use.
    """
    markets = [start_market(task, seed) for task, seed in zip(tasks, episode_seeds, strict=True)]
    steps: list[list] = [[] for _ in tasks]
    spent = [0.0] * len(tasks)
    start = time.perf_counter()
    while True:
        live = [i for i, m in enumerate(markets) if not m.done]
        if not live:
            break
        tick = time.perf_counter()
        prices = policy.act_batch([markets[i].context() for i in live])
        share = (time.perf_counter() - tick) / len(live)
        for i, price in zip(live, prices, strict=True):
            steps[i].append(markets[i].step(_finite_price(price, policy, tasks[i])))
            spent[i] += share
        if progress is not None:
            progress.update(len(live))
    elapsed = (time.perf_counter() - start) / len(tasks)
    return [_trajectory(policy, t, st, sp, elapsed) for t, st, sp in zip(tasks, steps, spent, strict=True)]


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
             tasks: Sequence[TaskSpec] | None = None, batch_size: int = 32) -> EvaluationResult:
    """Runs every policy on `n_tasks` tasks of `split` (or on the given `tasks`), in parallel.

    Policies with an `act_batch` method run in lock-step over `batch_size` tasks at a time, in
    this process (their batched forward pass uses the cores); the others in `workers` processes.
    """
    policies = tuple(dict.fromkeys(policies))
    check_policy_names(policies)
    if n_tasks < 1 and tasks is None:
        raise ValueError("tasks: need at least one task")
    if horizon < 1:
        raise ValueError("horizon: must be at least 1")
    tasks = list(tasks) if tasks is not None else [sample_task(split, i, horizon) for i in range(n_tasks)]
    # policies with `act_batch` (the LLM) play all tasks in lock-step; the rest run per task in workers
    batched = [n for n in policies if n != "oracle" and hasattr(build_policy(n, tasks[0]), "act_batch")]
    plain = tuple(n for n in policies if n not in batched)
    jobs = [(t, plain, seed) for t in tasks]
    started = time.perf_counter()
    bar = tqdm(total=len(jobs), desc="evaluating", unit="task", disable=not progress)
    rows: list[dict] = []
    oracles: dict[str, Trajectory] = {}

    def collect(result: tuple[list[dict], Trajectory]) -> None:
        rows.extend(result[0])
        oracles[result[1].task_id] = result[1]
        bar.update()

    if workers <= 1:
        for job in jobs:
            collect(_evaluate_job(job))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(_evaluate_job, jobs, chunksize=max(1, len(jobs) // (workers * 8))):
                collect(result)
    bar.close()
    by_id = {t.task_id: t for t in tasks}
    for name in batched:
        policy = build_policy(name, tasks[0])
        policy.reset(_seed(seed, name))
        decisions = tqdm(total=sum(t.horizon for t in tasks), desc=name, unit="decision", disable=not progress)
        for start in range(0, len(tasks), batch_size):
            chunk = tasks[start:start + batch_size]
            trajs = run_lockstep(policy, chunk, [_seed(t.seed, seed) for t in chunk], decisions)
            rows.extend(task_metrics(tr, oracles[tr.task_id], by_id[tr.task_id], name) for tr in trajs)
        decisions.close()
    per_task = pd.DataFrame(rows)
    total = time.perf_counter() - started
    settings = {"policies": list(policies), "split": split, "n_tasks": len(tasks), "horizon": horizon,
                "seed": seed, "workers": workers, "batch_size": batch_size, "total_wall_s": total}
    return EvaluationResult(settings, per_task)


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

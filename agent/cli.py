"""The `pricing` command line. Subcommands import what they need lazily, so `--help` stays fast.

User mistakes (unknown names, bad numbers, invalid task files) end in one line on stderr and
exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

app = typer.Typer(help="LLM pricing assistant: simulated markets, pricers, evaluation.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)


def describe_error(err: Exception) -> str:
    """One line naming the offending field for pydantic errors, the message otherwise."""
    from pydantic import ValidationError

    if isinstance(err, ValidationError):
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "input"
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        return f"{loc}: {first['msg']}{more}"
    return str(err).splitlines()[0] if str(err) else type(err).__name__


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except (ValueError, FileNotFoundError, json.JSONDecodeError) as err:
        typer.echo(f"error: {describe_error(err)}", err=True)
        raise typer.Exit(2) from None


def _split_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError("policies: give at least one policy name")
    return names


def _load_task(scenario: str | None, task_file: Path | None, split: str, index: int, horizon: int | None,
               seed: int | None, rival: str | None):
    from env.distribution import sample_task
    from env.scenarios import make_scenario
    from env.task import TaskSpec

    if scenario and task_file:
        raise ValueError("give either --scenario or --task, not both")
    if horizon is not None and horizon < 1:
        raise ValueError("horizon: must be at least 1")
    kwargs = {k: v for k, v in {"horizon": horizon, "seed": seed}.items() if v is not None}
    if task_file is not None:
        task = TaskSpec.model_validate_json(task_file.read_text())
        return task.model_copy(update=kwargs) if kwargs else task
    if scenario is not None:
        if rival is not None:
            if scenario != "calvano_duopoly":
                raise ValueError("rival: only the calvano_duopoly scenario takes a rival")
            kwargs["rival"] = rival
        return make_scenario(scenario, **kwargs)
    task = sample_task(split, index, horizon or 50)
    return task.model_copy(update={"seed": seed}) if seed is not None else task


@app.command()
def evaluate(
    policies: str = typer.Option("cost_plus,ils,cils,ts,meta_ts,oracle", help="Comma-separated policy names."),
    split: str = typer.Option("test", help="train, validation or test."),
    tasks: int = typer.Option(200, help="Number of tasks of the split."),
    horizon: int = typer.Option(50, help="Periods per task."),
    seed: int = typer.Option(0, help="Seed of the demand noise and the policies' randomness."),
    workers: int = typer.Option(2, help="Worker processes."),
    out: Path = typer.Option(Path("runs/evaluate"), help="Folder for results.json/.md and plots."),
) -> None:
    """Run policies on seeded tasks of a split and compare them with the oracle."""
    from env.evaluation import evaluate as run
    from env.evaluation import write_report

    with user_errors():
        if tasks < 1:
            raise ValueError("tasks: must be at least 1")
        result = run(_split_names(policies), split=split, n_tasks=tasks, horizon=horizon, seed=seed,
                     workers=workers)
        files = write_report(result, out)
    typer.echo(result.to_markdown())
    typer.echo(f"wrote {', '.join(str(p) for p in files.values())}")


@app.command()
def simulate(
    scenario: str | None = typer.Option(None, help="A scenario preset, e.g. seasonal_perishable."),
    task: Path | None = typer.Option(None, help="A task spec JSON file (instead of a scenario)."),
    split: str = typer.Option("test", help="With neither: the split to take a task from."),
    index: int = typer.Option(0, help="With neither: the task index in the split."),
    policy: str = typer.Option("oracle,ts,cils,cost_plus", help="Comma-separated policy names."),
    horizon: int | None = typer.Option(None, help="Override the task's horizon."),
    seed: int | None = typer.Option(None, help="Override the task's noise seed."),
    rival: str | None = typer.Option(None, help="calvano_duopoly only: the rival's kind or pricer name."),
    out: Path = typer.Option(Path("runs/simulate"), help="Folder for the table and plots."),
) -> None:
    """Run a few policies on one task side by side, with price-path and regret plots."""
    from env.evaluation import evaluate as run
    from env.evaluation import write_report

    with user_errors():
        spec = _load_task(scenario, task, split, index, horizon, seed, rival)
        result = run(_split_names(policy), tasks=[spec], split=spec.task_id, horizon=spec.horizon,
                     workers=1, progress=False)
        files = write_report(result, out)
        (Path(out) / "task.json").write_text(spec.model_dump_json(indent=1))
    typer.echo(f"task {spec.task_id}: {spec.demand.kind} demand, {spec.horizon} periods, "
               f"unit cost {spec.unit_cost:g}, price range {spec.min_price:g}–{spec.max_price:g}")
    typer.echo(result.to_markdown())
    typer.echo(f"wrote {', '.join(str(p) for p in files.values())}")


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())

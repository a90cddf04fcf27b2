"""The `pricing` command line. Subcommands import what they need lazily, so `--help` stays fast.

The agent's own commands live here; `pricing finetune` and `pricing serve` come from the layers above
(`finetune.cli`, `ui.cli`) through entry points, so this module imports neither.

User mistakes (unknown names, bad numbers, invalid task files) end in one line on stderr and
exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from agent.cli_support import ADAPTER_HELP, HOST_HELP, MODEL_HELP, check_server, user_errors

app = typer.Typer(help="LLM pricing assistant: simulated markets, pricers, evaluation.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

PLUGIN_GROUP = "pricing.commands"


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
    model: str | None = typer.Option(None, help=MODEL_HELP),
    adapter: str | None = typer.Option(None, help=ADAPTER_HELP),
    batch_size: int = typer.Option(32, help="Tasks played in lock-step by batched policies (the LLM)."),
) -> None:
    """Run policies on seeded tasks of a split and compare them with the oracle."""
    from agent.registry import in_process_policies
    from env.evaluation import evaluate as run
    from env.evaluation import write_report

    with user_errors():
        if tasks < 1:
            raise ValueError("tasks: must be at least 1")
        result = run(_split_names(policies), split=split, n_tasks=tasks, horizon=horizon, seed=seed,
                     workers=workers, batch_size=batch_size, factories=in_process_policies(model, adapter))
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
    from agent.registry import in_process_policies
    from env.evaluation import evaluate as run
    from env.evaluation import write_report

    with user_errors():
        spec = _load_task(scenario, task, split, index, horizon, seed, rival)
        result = run(_split_names(policy), tasks=[spec], split=spec.task_id, horizon=spec.horizon,
                     workers=1, progress=False, factories=in_process_policies())
        files = write_report(result, out)
        (Path(out) / "task.json").write_text(spec.model_dump_json(indent=1))
    typer.echo(f"task {spec.task_id}: {spec.demand.kind} demand, {spec.horizon} periods, "
               f"unit cost {spec.unit_cost:g}, price range {spec.min_price:g}–{spec.max_price:g}")
    typer.echo(result.to_markdown())
    typer.echo(f"wrote {', '.join(str(p) for p in files.values())}")


@app.command("serve-api")
def serve_api(
    host: str = typer.Option("127.0.0.1", help=HOST_HELP),
    port: int = typer.Option(8000, help="TCP port."),
    policy: str = typer.Option("llm", help="llm or a classical pricer name (cost_plus, ils, cils, ts, ...)."),
    model: str | None = typer.Option(None, help=MODEL_HELP),
    adapter: str | None = typer.Option(None, help=ADAPTER_HELP),
) -> None:
    """Serve the HTTP API (/v1/recommend, /v1/score, /healthz; docs at /docs). Set PRICING_API_TOKEN to
    require `Authorization: Bearer <token>` on /v1."""
    from agent.api import serve_api as serve

    with user_errors():
        check_server(host, port, policy, model, adapter)
    serve(host=host, port=port, policy_name=policy, model=model, adapter=adapter)


COLUMNS_HELP = ("Which file column holds which catalog column, e.g. \"sku=Variant SKU,unit_cost=Cost per item,"
                "history.units=Qty\" (history.* for the history file). Shopify, WooCommerce and Amazon exports are "
                "recognised without it.")


@app.command()
def score(
    products: Path = typer.Argument(..., help="Products table (CSV/TSV, .xlsx, Parquet or JSON Lines; a Shopify, "
                                              "WooCommerce or Amazon export), or one combined table."),
    history: Path | None = typer.Argument(None, help="Sales history: sku, period (or date), price, units, ...; or a "
                                                     "Shopify / WooCommerce orders export (summed per week)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file; its extension picks CSV, Parquet or JSONL."),
    policy: str = typer.Option("llm", help="llm, a classical pricer (ts, cost_plus, ...) or module:factory."),
    model: str | None = typer.Option(None, help=MODEL_HELP),
    adapter: str | None = typer.Option(None, help=ADAPTER_HELP),
    batch_size: int = typer.Option(16, help="Products per batched generate."),
    chunk_size: int = typer.Option(256, help="Products per saved chunk (what an interrupted run keeps)."),
    resume: bool = typer.Option(True, "--resume/--no-resume",
                                help="Continue an interrupted run of the same inputs (--no-resume starts over)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    columns: str | None = typer.Option(None, "--columns", help=COLUMNS_HELP),
    engine: str = typer.Option("local", help="local (this process) or ray (Ray workers, each loading the "
                                             "policy once; the same output file)."),
    address: str | None = typer.Option(None, help="With --engine ray: an existing cluster ('auto', "
                                                  "'ray://host:10001'); default: a local Ray instance."),
    workers: int = typer.Option(2, help="With --engine ray: how many workers (Ray actors) score chunks."),
) -> None:
    """Score a whole catalog: one recommended price per SKU, with evidence columns and per-row errors."""
    from agent.catalog import ColumnMap, load_policy, parts_folder, score_files

    if engine not in ("local", "ray"):
        raise typer.BadParameter(f"unknown engine {engine!r}: use local or ray", param_hint="--engine")
    with user_errors():
        mapping = ColumnMap.parse(columns)
        chosen = load_policy(policy, model, adapter)  # builds no model: the LLM loads on first use
        runner = None
        if engine == "ray":
            from agent.catalog.ray_engine import RayEngine

            runner = RayEngine(policy, model, adapter, batch_size=batch_size, workers=workers, address=address)
        try:
            summary = score_files(products, history, out, chosen, batch_size=batch_size, chunk_size=chunk_size,
                                  resume=resume, progress=progress, mapping=mapping, engine=runner)
        except KeyboardInterrupt:
            typer.echo(f"interrupted: finished chunks are kept in {parts_folder(out)}; run the same command "
                       "again to resume", err=True)
            raise typer.Exit(130) from None
    for line in summary.lines():
        typer.echo(line)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


@app.command()
def recommend(
    sku: str = typer.Option(..., help="The SKU to price."),
    products: Path | None = typer.Option(None, help="Products table (default: the demo catalog)."),
    history: Path | None = typer.Option(None, help="History table (default: the demo's, when no --products)."),
    policy: str = typer.Option("llm", help="llm, a classical pricer (ts, cost_plus, ...) or module:factory."),
    model: str | None = typer.Option(None, help=MODEL_HELP),
    adapter: str | None = typer.Option(None, help=ADAPTER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the whole recommendation as JSON."),
    columns: str | None = typer.Option(None, "--columns", help=COLUMNS_HELP),
) -> None:
    """Recommend a price for one SKU of a catalog, with the evidence and the rules that bound it."""
    from agent.catalog import ColumnMap, find_context, load_policy
    from agent.demo_catalog import demo_catalog_paths
    from agent.recommend import recommend as run

    with user_errors():
        mapping = ColumnMap.parse(columns)
        if products is None:
            if history is not None:
                raise ValueError("history: give --products too (without it the demo catalog is used)")
            products, history = demo_catalog_paths()
        context = find_context(sku, products, history, mapping)
        chosen = load_policy(policy, model, adapter)
        rec = run(context, chosen)
    if as_json:
        typer.echo(rec.model_dump_json(indent=1, exclude={"evidence": {"curve"}}))
        return
    lines = [f"SKU {_printable(rec.sku)}: {_printable(context.product.name)} (policy {rec.policy})",
             f"Recommended price: {rec.price:,.2f} (now {rec.previous_price:,.2f}, {rec.change_pct:+.1f}%)"]
    if rec.expected_profit is not None:
        change = "" if rec.expected_profit_change is None else \
            f"; {rec.expected_profit_change:+,.2f} vs the current price"
        lines.append(f"Expected profit per period: {rec.expected_profit:,.2f} (90% band {rec.expected_profit_low:,.2f}"
                     f" to {rec.expected_profit_high:,.2f}){change}")
        lines.append(f"Expected units per period: {rec.expected_units:,.1f} ({rec.expected_units_low:,.1f} to "
                     f"{rec.expected_units_high:,.1f})")
    else:
        lines.append("Expected profit: unknown (no usable sales history)")
    lines.append(f"Confidence: {rec.confidence}")
    rules = [f"{b.rule} ({b.before:,.2f} -> {b.after:,.2f}: {b.detail})" for b in rec.binding_rules]
    lines.append("Binding rules: " + ("; ".join(rules) if rules else "none"))
    lines.append("Flags: " + ("; ".join(rec.flags) if rec.flags else "none"))
    lines.append(f"Rationale: {rec.rationale}")
    for line in lines:
        typer.echo(line)


audit_app = typer.Typer(help="Market audits of a pricing policy.", no_args_is_help=True, add_completion=False)
app.add_typer(audit_app, name="audit")


@audit_app.command("collusion")
def audit_collusion(
    policy: str = typer.Option("llm", help="The policy to audit: llm, evidence or a classical pricer."),
    periods: int = typer.Option(300, help="Periods per episode (the long run is the second half)."),
    seeds: int = typer.Option(3, help="Episodes per pairing."),
    scales: str = typer.Option("1,10", help="Comma-separated currency scales of the Calvano market."),
    opponents: str = typer.Option("self,q_learning,best_response", help="Comma-separated opponents."),
    probe: bool = typer.Option(True, "--probe/--no-probe", help="Run the deviation probe in self-play."),
    out: Path | None = typer.Option(None, help="Report folder (default: runs/audit/<policy>)."),
    model: str | None = typer.Option(None, help=MODEL_HELP),
    adapter: str | None = typer.Option(None, help=ADAPTER_HELP),
) -> None:
    """Play a policy against itself, Q-learning and a best-responder in the Calvano duopoly; report the
    collusion index, price paths and a deviation probe, and say plainly whether it behaves competitively."""
    from agent.registry import in_process_policies
    from env.audit import audit_collusion as run
    from env.audit import write_audit

    with user_errors():
        try:
            scale_values = [float(x) for x in _split_names(scales)]
        except ValueError:
            raise ValueError(f"scales: '{scales}' is not a comma-separated list of numbers") from None
        result = run(policy, periods=periods, seeds=seeds, scales=scale_values, opponents=_split_names(opponents),
                     probe=probe, factories=in_process_policies(model, adapter))
        files = write_audit(result, out or Path("runs/audit") / policy.replace("/", "_"))
    typer.echo(files["report"].read_text().split("\n![")[0].rstrip())
    typer.echo(f"wrote {', '.join(str(p) for p in files.values())}")


def add_plugins(root: typer.Typer = app) -> None:
    """Adds the command groups other layers contribute (`pricing finetune`, `pricing serve`).

    They are declared as entry points of group `pricing.commands` in pyproject.toml (the plugin convention of
    pytest and friends): each names a `register(app)` function. So `agent` never imports `finetune` or `ui`,
    which build on it. A plugin that fails to import is reported in one line and the other commands still work.
    """
    from importlib.metadata import entry_points

    for entry in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        try:
            entry.load()(root)
        except Exception as err:  # noqa: BLE001 - a broken optional layer must not take the CLI down
            typer.echo(f"warning: commands '{entry.name}' unavailable ({err})", err=True)


add_plugins()


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())

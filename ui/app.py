"""The merchant assistant's web page: Chat, Catalog and Simulator tabs (Gradio Blocks).

Every tab prices through one shared pricing service (`agent.service.PricingService`): the same lock
the HTTP API holds, so a chat, a catalog run and an API request never generate on the model at the same
time, and all three give the same price for the same product (seeded from the SKU).

Named API endpoints (for `gradio_client`): `/chat`, `/load_sku`, `/upload_history`,
`/update_facts`, `/score_catalog`, `/simulate`, `/stop_simulation` (stops the session's running simulations).
"""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from pydantic import ValidationError

from agent.catalog import FORMATS, CatalogError, find_context, read_table
from agent.demo_catalog import demo_catalog_paths
from agent.jobs import JobQueue
from agent.service import PolicyBusy, PricingService
from env.errors import describe_error
from ui.assistant import GREETING, Assistant, ChatState, Turn
from ui.charts import change_histogram, simulation_charts
from ui.facts import MerchantFacts, Sale
from ui.i18n import translator
from ui.simulation import SimulationRuns, SimulationStopped, period_progress

SIM_POLICIES = ["llm", "toolbox", "evidence", "ts", "meta_ts", "cils", "ils", "cost_plus", "oracle"]
SIM_DEFAULT = ["llm", "ts", "cils", "oracle"]
TASK_CHOICE = "test task (by index)"
TABLE_ROWS = 500  # rows shown in the catalog table; the download has all of them
SALES_HEADERS = ["price", "units", "competitor_price"]
# every file type the catalog's one table reader takes (by the name's last extension: ".csv.gz" is ".gz"),
# for the chat's sales-history upload and the Catalog tab alike
TABLE_TYPES = sorted({"." + suffix.rsplit(".", 1)[-1] for suffix in FORMATS})
FORM_FIELDS = ["name", "unit_cost", "current_price", "competitor_price", "min_price", "max_price",
               "min_margin_pct", "max_change_pct"]


# --- form <-> facts ----------------------------------------------------------------------------------


def _blank(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or (isinstance(x, str) and not x.strip())


def facts_to_form(facts: MerchantFacts) -> list[Any]:
    sales = pd.DataFrame([[s.price, s.units, s.competitor_price] for s in facts.sales], columns=SALES_HEADERS)

    def pct(v: float | None) -> float | None:
        return None if v is None else round(100 * v, 2)

    return [facts.name, facts.unit_cost, facts.price_now(), facts.competitor_price, facts.min_price,
            facts.max_price, pct(facts.min_margin), pct(facts.max_change), sales]


def form_to_facts(values: list[Any], sales: Any, previous: MerchantFacts) -> MerchantFacts:
    """The corrected facts from the form. ValueError with a plain sentence on a bad cell."""
    v = dict(zip(FORM_FIELDS, values, strict=True))

    def num(key: str, scale: float = 1.0) -> float | None:
        x = v[key]
        if _blank(x):
            return None
        try:
            return float(x) / scale
        except (TypeError, ValueError):
            raise ValueError(f"{key.replace('_', ' ')}: '{x}' is not a number") from None

    rows = []
    frame = sales if isinstance(sales, pd.DataFrame) else pd.DataFrame(
        (sales or {}).get("data", []) if isinstance(sales, dict) else sales or [], columns=SALES_HEADERS)
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        cells = list(row)[:3] + [None] * (3 - len(list(row)[:3]))
        if all(_blank(c) for c in cells):
            continue
        try:
            rows.append(Sale(price=float(cells[0]), units=float(cells[1]),
                             competitor_price=None if _blank(cells[2]) else float(cells[2])))
        except (TypeError, ValueError):
            raise ValueError(f"sales row {i}: needs a positive price and a non-negative number of units "
                             f"(got {cells[0]!r}, {cells[1]!r})") from None
    try:
        return MerchantFacts(
            sku=previous.sku, name=str(v["name"] or "")[:80], unit_cost=num("unit_cost"),
            current_price=num("current_price"), competitor_price=num("competitor_price"), sales=rows,
            min_price=num("min_price"), max_price=num("max_price"), min_margin=num("min_margin_pct", 100),
            max_change=num("max_change_pct", 100), source=f"{previous.source}, corrected in the form",
            currency=previous.currency)
    except ValidationError as err:  # a ValueError of ours (a bad cell) passes through as it is
        raise ValueError(describe_error(err)) from None


# --- the app -----------------------------------------------------------------------------------------


class OneDecisionAtATime:
    """A simulated policy that takes the shared service's lock for each decision, not for the episode.

    The `llm` policy shares the loaded model with the chat and the HTTP API, so its decisions must
    not overlap theirs; holding the lock per decision lets a chat turn or an API call in between
    two periods instead of making it wait for (or time out behind) a whole simulation.
    """

    def __init__(self, policy, service: PricingService):
        self.policy, self.service, self.name = policy, service, policy.name

    def reset(self, seed: int | None = None) -> None:
        self.policy.reset(seed)

    def act(self, context) -> float:
        with self.service.exclusive():
            price = self.policy.act(context)
        # Python's lock is not fair: a request woken by the release can lose the lock again to this thread's
        # next period if the OS has not run it yet (seen once under load in CI's test of this class); giving
        # up the rest of this time slice lets it in first
        time.sleep(0)
        return price


def build_ui(service: PricingService, policy_label: str = "llm", reader=None,
             jobs: JobQueue | None = None) -> gr.Blocks:
    """The three tabs, pricing through `service` (the API's pricing service); the chat reads messages
    with `reader` (a `ui.message_reader.MessageReader`; None: the pattern matcher alone); the catalog tab
    scores through `jobs` (the API's job queue; None: a queue of its own in a temporary folder)."""
    jobs = jobs or JobQueue(tempfile.mkdtemp(prefix="pricing-jobs-"), service)
    assistant = Assistant(service, reader)
    products_path, history_path = demo_catalog_paths()
    demo_skus = read_table(products_path, ["sku"])["sku"].tolist()

    def show(turn: Turn, history: list, user_text: str | None) -> tuple:
        # the conversation lives in session state, not in the Chatbot's value: an API client then sends
        # only its message, and file messages (the charts) never have to make a round trip
        history = list(history or [])
        if user_text:
            history.append({"role": "user", "content": user_text})
        history += turn.messages
        return (history, history, turn.state.model_dump(), *facts_to_form(turn.state.facts))

    def state_of(raw: Any) -> ChatState:
        return ChatState.model_validate(raw) if raw else ChatState()

    def guarded(run, history: list, raw_state: Any, user_text: str | None) -> tuple:
        state = state_of(raw_state)
        v = translator(state.language, state.facts.currency)  # the conversation's: these turns are not messages
        try:
            turn = run(state)
        except PolicyBusy as err:
            turn = Turn([{"role": "assistant", "content": v._("I am busy with other requests: {error}").format(
                error=err)}], state)
        except ValueError as err:  # a user mistake: a plain sentence in the chat, never a traceback
            turn = Turn([{"role": "assistant", "content": v._("I could not use that: {error}").format(error=err)}],
                        state)
        return show(turn, history, user_text)

    def chat(message: str, history: list, raw_state: Any) -> tuple:
        return ("", *guarded(lambda s: assistant.respond(message, s), history, raw_state, message))

    def load_sku(sku: str, history: list, raw_state: Any) -> tuple:
        def run(state: ChatState) -> Turn:
            if not sku:
                raise ValueError(translator(state.language)._("pick a demo SKU first"))
            context = find_context(sku, products_path, history_path)
            return assistant.use_context(context, f"demo SKU {sku}", state.language)
        return guarded(run, history, raw_state, f"(picked demo SKU {sku})" if sku else None)

    def upload_history(file: Any, history: list, raw_state: Any) -> tuple:
        path = getattr(file, "name", file)

        def run(state: ChatState) -> Turn:
            if not path:
                raise ValueError(translator(state.language)._("no file was uploaded"))
            return assistant.use_file(str(path), state)
        return guarded(run, history, raw_state, f"(uploaded {Path(str(path)).name})" if path else None)

    def update_facts(*args: Any) -> tuple:
        *values, sales, history, raw_state = args

        def run(state: ChatState) -> Turn:
            facts = form_to_facts(values, sales, state.facts)
            return assistant.use_form(facts, state)
        return guarded(run, history, raw_state, "(updated the facts in the form)")

    def score_catalog(products_file: Any, history_file: Any, columns: str | None = "",
                      progress=gr.Progress()) -> tuple:
        """The catalog as a scoring job (`agent.jobs`, the API's jobs): progress per batch, and a job the
        server stopped mid-way resumes when it starts again (its result stays under the jobs folder)."""
        import logging
        import time

        products = getattr(products_file, "name", products_file) or products_path
        hist = getattr(history_file, "name", history_file) or (history_path if not products_file else None)
        try:
            with contextlib.ExitStack() as files:
                tables = {role: (Path(str(path)).name, files.enter_context(open(path, "rb")))
                          for role, path in (("products", products), ("history", hist)) if path}
                status = jobs.submit(tables, columns or None)
        except (CatalogError, ValueError, FileNotFoundError) as err:
            # a merchant's mistake: one line, the file's name instead of the server's temporary path
            text = str(err).splitlines()[0] if str(err) else type(err).__name__
            for path in (products, hist):
                if path:
                    text = text.replace(str(path), Path(str(path)).name)
            logging.getLogger("ui.catalog").warning("catalog not scored: %s", text)
            raise gr.Error(text, print_exception=False) from None
        while status.status not in ("done", "failed"):
            if status.rows_total:
                progress((status.rows_done, status.rows_total), desc="scoring", unit="SKUs")
            time.sleep(0.2)
            status = jobs.get(status.id)
        if status.status == "failed":
            raise gr.Error(status.error or "the catalog could not be scored", print_exception=False)
        out = Path(tempfile.mkdtemp(prefix="pricing-scored-")) / "recommendations.csv"
        shutil.copyfile(jobs.result(status.id), out)  # the download, where Gradio serves files from
        table = pd.read_csv(out, dtype=str, keep_default_na=False)
        numeric = ["current_price", "recommended_price", "change_pct", "expected_units", "expected_profit",
                   "expected_profit_change", "elasticity"]
        for col in numeric:
            table[col] = pd.to_numeric(table[col], errors="coerce")
        digits = {"change_pct": 1, "expected_units": 1, "elasticity": 2}
        shown = table[["sku", "name", *numeric, "confidence", "binding_rules", "error"]].head(TABLE_ROWS)
        shown = shown.round({col: digits.get(col, 2) for col in numeric})
        errors = table[table["error"] != ""]
        text = [f"**Scored {status.scored} of {status.rows_total} SKUs** in {status.seconds or 0:.1f} s; "
                f"{status.errors} row{'s' if status.errors != 1 else ''} with errors."]
        if len(table) > TABLE_ROWS:
            text.append(f"The table shows the first {TABLE_ROWS} rows; the download has all {len(table)}.")
        for _, row in errors.head(10).iterrows():
            text.append(f"- `{row['sku'] or '(no sku)'}`: {row['error']}")
        text += [f"- warning: {w}" for w in status.warnings]
        return shown, str(change_histogram(table["change_pct"].tolist())), str(out), "\n".join(text)

    runs = SimulationRuns()

    def stop_simulation(request: gr.Request) -> None:
        runs.stop(request.session_hash)

    def simulate(choice: str, index: float, horizon: float, policies: list[str], request: gr.Request = None,
                 progress=gr.Progress()) -> tuple:
        from env.evaluation import evaluate_task, summarise
        from env.scenarios import make_scenario

        if not policies:
            raise gr.Error("Pick at least one policy.")
        try:
            if choice == TASK_CHOICE:
                from env.distribution import sample_task
                task = sample_task("test", int(index or 0), int(horizon) if horizon else 50)
            else:
                task = make_scenario(choice, **({"horizon": int(horizon)} if horizon else {}))
        except (ValueError, TypeError) as err:
            raise gr.Error(str(err)) from None
        progress(0.0, desc=f"running {', '.join(policies)} on {task.task_id}")
        with runs.running(getattr(request, "session_hash", None) or "") as stopped:
            try:
                run = evaluate_task(task, list(policies), seed=0, factories={
                    name: lambda _task, name=name: OneDecisionAtATime(service.policy_by_name(name), service)
                    for name in policies}, progress=period_progress(progress, policies, task.horizon, stopped))
            except PolicyBusy as err:
                raise gr.Error(f"The policy is busy with other requests: {err}") from None
            except SimulationStopped:
                raise gr.Error("Stopped: the simulation was cancelled.") from None
        rows, oracle = run.rows, run.oracle
        regrets = {"oracle": [0.0] * len(oracle.prices)}
        profits = {"oracle": oracle.expected_profits.tolist()}
        prices = {"oracle": oracle.prices.tolist()}
        for row in rows:  # each policy's expected profit per period, straight from its trajectory
            profits[row["policy"]] = run.trajectories[row["policy"]].expected_profits.tolist()
            regrets[row["policy"]] = row["regret_curve"]
            prices[row["policy"]] = row["prices"]
        table = summarise(pd.DataFrame(rows))[["policy", "pct_oracle", "regret_pct", "volatility"]] \
            if rows else pd.DataFrame()
        header = (f"**{task.task_id}**: {task.demand.kind} demand, {task.horizon} periods, unit cost "
                  f"{task.unit_cost:g}, prices {task.min_price:g}–{task.max_price:g}. Expected profit "
                  f"relative to the oracle that knows the true demand.")
        return header, table.round(2), str(simulation_charts(profits, regrets, prices))

    with gr.Blocks(title="LLM pricing assistant") as blocks:
        gr.Markdown(f"# Pricing assistant\nRecommendations from `{policy_label}`, bounded by your guardrails, "
                    "explained with the evidence. The HTTP API is at [/v1](/docs).")
        with gr.Tab("Chat"):
            state = gr.State(ChatState().model_dump())
            conversation = gr.State([{"role": "assistant", "content": GREETING}])
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(value=[{"role": "assistant", "content": GREETING}], height=620,
                                         label="Assistant", elem_id="chatbot", feedback_options=None)
                    with gr.Row():
                        message = gr.Textbox(placeholder="Describe your product and its sales, or ask a follow-up",
                                             show_label=False, scale=5, elem_id="chat-input", max_length=4000)
                        send = gr.Button("Send", variant="primary", scale=1, elem_id="chat-send")
                    with gr.Row():
                        sku = gr.Dropdown(demo_skus, label="Demo SKU", value=None, scale=3)
                        load = gr.Button("Load SKU", scale=1)
                        upload = gr.File(label="Sales history (CSV, Excel, Parquet, JSON Lines)",
                                         file_types=TABLE_TYPES, scale=3, elem_id="history-upload")
                with gr.Column(scale=2):
                    gr.Markdown("### Facts I use\nExtracted from the chat, a demo SKU or a file. Correct anything "
                                "and press **Update**.")
                    name = gr.Textbox(label="Product")
                    with gr.Row():
                        unit_cost = gr.Number(label="Unit cost")
                        current = gr.Number(label="Price now")
                        competitor = gr.Number(label="Competitor price")
                    with gr.Row():
                        min_price = gr.Number(label="Min price")
                        max_price = gr.Number(label="Max price")
                    with gr.Row():
                        min_margin = gr.Number(label="Margin floor %")
                        max_change = gr.Number(label="Max change %")
                    sales = gr.Dataframe(headers=SALES_HEADERS, label="Sales (oldest first)", interactive=True,
                                         column_count=3, row_count=1, type="pandas")
                    update = gr.Button("Update and re-price")
            form = [name, unit_cost, current, competitor, min_price, max_price, min_margin, max_change, sales]
            outputs = [chatbot, conversation, state, *form]
            send.click(chat, [message, conversation, state], [message, *outputs], api_name="chat")
            message.submit(chat, [message, conversation, state], [message, *outputs], api_name=False)
            load.click(load_sku, [sku, conversation, state], outputs, api_name="load_sku")
            upload.upload(upload_history, [upload, conversation, state], outputs, api_name="upload_history")
            update.click(update_facts, [*form, conversation, state], outputs, api_name="update_facts")

        with gr.Tab("Catalog"):
            gr.Markdown("Score a whole catalog: a products table (CSV or text with any delimiter, Excel .xlsx, "
                        "Parquet or JSON Lines; Shopify, WooCommerce and Amazon exports as they are) and, "
                        "optionally, a sales history (or a Shopify / WooCommerce orders export). Without files, the "
                        "demo catalog is scored.")
            with gr.Row():
                products_file = gr.File(label="Products", file_types=TABLE_TYPES, elem_id="products-file")
                history_file = gr.File(label="Sales history (optional)", file_types=TABLE_TYPES,
                                       elem_id="history-file")
            column_map = gr.Textbox("", label="Column mapping (optional)", elem_id="column-map", max_lines=2,
                                    placeholder="sku=Variant SKU, unit_cost=Cost per item, history.units=Qty",
                                    info="Which of your columns holds what, when the file's names are not "
                                         "recognised; history.* for the sales-history file.")
            score = gr.Button("Score catalog", variant="primary", elem_id="score-button")
            summary = gr.Markdown()
            with gr.Row():
                table = gr.Dataframe(label="Recommendations (click a header to sort)", interactive=False,
                                     elem_id="score-table", max_height=520)
            with gr.Row():
                histogram = gr.Image(label="Price changes", type="filepath", height=320)
                download = gr.File(label="Download all results (CSV)")
            score.click(score_catalog, [products_file, history_file, column_map], [table, histogram, download, summary],
                        api_name="score_catalog")

        with gr.Tab("Simulator"):
            from env.scenarios import SCENARIOS

            gr.Markdown("Run policies side by side on a simulated market where the true demand is known.")
            with gr.Row():
                choice = gr.Dropdown([*SCENARIOS, TASK_CHOICE], value="seasonal_perishable", label="Market")
                index = gr.Number(value=0, precision=0, label="Test task index")
                horizon = gr.Number(value=0, precision=0, minimum=0, label="Periods (0: the market's own)")
            picked = gr.CheckboxGroup(SIM_POLICIES, value=SIM_DEFAULT, label="Policies")
            with gr.Row():
                run = gr.Button("Run", variant="primary")
                stop = gr.Button("Stop", variant="stop")
            sim_header = gr.Markdown()
            sim_table = gr.Dataframe(interactive=False)
            sim_chart = gr.Image(type="filepath", label="Profit, regret and prices")
            running = run.click(simulate, [choice, index, horizon, picked], [sim_header, sim_table, sim_chart],
                                api_name="simulate")
            stop.click(stop_simulation, None, None, cancels=[running], api_name="stop_simulation")
    return blocks

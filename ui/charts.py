"""The pictures a merchant would rather look at than read: history, demand and profit curves,
the catalog's price changes, the simulator's curves. Matplotlib figures, saved as PNG files so
they travel the same way to the browser, to `gradio_client` and into a chat message.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from agent.candidates import Toolbox  # noqa: E402
from agent.evidence import Evidence  # noqa: E402
from env.context import PricingContext  # noqa: E402

_FOLDER: Path | None = None


def chart_folder() -> Path:
    """One temporary folder per process for the PNGs (Gradio copies what it serves into its cache)."""
    global _FOLDER
    if _FOLDER is None:
        _FOLDER = Path(tempfile.mkdtemp(prefix="pricing-charts-"))
    return _FOLDER


def _save(fig, stem: str) -> Path:
    path = chart_folder() / f"{stem}-{uuid.uuid4().hex[:10]}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


_FAMILY_COLOURS = {"loglinear": "#6a3d9a", "linear": "#e6550d", "logit": "#31a354"}


def _hypotheses(ax, toolbox: Toolbox, chosen: str | None, xs: np.ndarray) -> None:
    """The toolbox's demand curves on the demand panel: the chosen one bold, the others thin."""
    best = toolbox.best_fit
    for h in toolbox.hypotheses:
        bold = h.family == chosen or (chosen in ("stock_plan", "explore") and h is best)
        label = f"{h.family} fit (weight {h.weight:.2f})" + (" ← chosen" if bold else "")
        ax.plot(xs, h.mean_units(xs), color=_FAMILY_COLOURS.get(h.family, "k"), lw=2.2 if bold else 0.9,
                ls="-" if bold else ":", label=label)


def _candidates(ax, toolbox: Toolbox, chosen: str | None) -> None:
    """The toolbox's candidates on the profit panel, each at its expected profit (under the best fit)."""
    for c in toolbox.candidates:
        ax.scatter([c.price], [c.profit], s=46 if c.name == chosen else 18, zorder=4,
                   marker="*" if c.name == chosen else "o", color="#2ca02c" if c.name == chosen else "#636363",
                   label=f"candidate {c.name}" + (" (chosen)" if c.name == chosen else ""))


def recommendation_chart(context: PricingContext, evidence: Evidence, price: float,
                         what_if: float | None = None, toolbox: Toolbox | None = None,
                         chosen: str | None = None) -> Path:
    """Three panels: sales history, fitted demand with its band, profit curve with current and new price.

    With the `toolbox` the model chose from (compact-prompt adapters), the demand panel also draws
    every fitted hypothesis, the one behind the `chosen` candidate in bold, and the profit panel marks
    the candidates, so the merchant sees which model of demand the price came from."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    hist = context.history
    ax = axes[0]
    if hist:
        periods = [r.period for r in hist]
        ax.bar(periods, [r.units for r in hist], color="#9ecae1", label="units sold")
        ax.set_xlabel("period")
        ax.set_ylabel("units")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        twin = ax.twinx()
        twin.step(periods, [r.price for r in hist], where="mid", color="#d62728", label="price")
        if any(r.competitor_price for r in hist):
            twin.plot(periods, [r.competitor_price or np.nan for r in hist], "k:", marker=".", label="competitor")
        twin.set_ylabel("price")
        twin.legend(loc="upper right", fontsize=7)
    else:
        ax.text(0.5, 0.5, "no sales history", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Sales history")

    curve = evidence.curve
    current = context.product.current_price
    marks = [("now", current, "#7f7f7f"), ("recommended", price, "#2ca02c")]
    if what_if is not None:
        marks.append(("what if", what_if, "#ff7f0e"))
    for ax, field, title in ((axes[1], "units", "Fitted demand"), (axes[2], "profit", "Profit per period")):
        if not curve:
            ax.text(0.5, 0.5, "no demand estimate", ha="center", va="center", transform=ax.transAxes)
        else:
            xs = [c.price for c in curve]
            low, high = [getattr(c, f"{field}_low") for c in curve], [getattr(c, f"{field}_high") for c in curve]
            ax.fill_between(xs, low, high, color="#c6dbef", label="90% band")
            ax.plot(xs, [getattr(c, field) for c in curve], color="#08519c", label="expected")
            if field == "units" and hist:
                ax.scatter([r.price for r in hist], [r.units for r in hist], s=12, color="k", zorder=3,
                           label="observed")
            if toolbox is not None and toolbox.hypotheses:
                if field == "units":
                    _hypotheses(ax, toolbox, chosen, np.asarray(xs, dtype=float))
                else:
                    _candidates(ax, toolbox, chosen)
            for label, x, colour in marks:
                ax.axvline(x, color=colour, ls="--", lw=1.2, label=f"{label} {x:,.2f}")
        ax.set_xlabel("price")
        ax.set_ylabel(field)
        ax.set_title(title)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return _save(fig, "recommendation")


def change_histogram(change_pct: Sequence[float]) -> Path:
    """Histogram of recommended price changes over a catalog (in % of the current price)."""
    values = np.asarray([v for v in change_pct if v is not None and np.isfinite(v)], dtype=float)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    if values.size:
        ax.hist(values, bins=min(30, max(5, values.size // 3)), color="#3182bd", edgecolor="white")
        ax.axvline(0, color="k", lw=1)
        ax.set_title(f"Recommended price changes ({values.size} SKUs, median {np.median(values):+.1f}%)")
    else:
        ax.set_title("No SKU could be scored")
    ax.set_xlabel("change vs current price (%)")
    ax.set_ylabel("SKUs")
    ax.grid(alpha=0.3)
    return _save(fig, "changes")


def simulation_charts(profits: dict[str, Sequence[float]], regrets: dict[str, Sequence[float]],
                      prices: dict[str, Sequence[float]]) -> Path:
    """Cumulative profit, cumulative regret and price paths of several policies on one task."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    names = list(prices)
    colours = {n: ("black" if n == "oracle" else f"C{i % 10}") for i, n in enumerate(names)}
    for name in names:
        style = {"color": colours[name], "ls": "--" if name == "oracle" else "-"}
        axes[0].plot(np.cumsum(profits[name]), label=name, **style)
        axes[1].plot(regrets[name], label=name, **style)
        axes[2].step(np.arange(len(prices[name])), prices[name], where="post", label=name, **style)
    for ax, title, ylabel in ((axes[0], "Cumulative profit", "profit"),
                              (axes[1], "Cumulative regret", "% of oracle profit"),
                              (axes[2], "Price paths", "price")):
        ax.set_title(title)
        ax.set_xlabel("period")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, "simulation")

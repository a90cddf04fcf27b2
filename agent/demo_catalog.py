"""A small, realistic demo catalog generated from the simulated market.

Each SKU is a validation-split task (`env.distribution.sample_task`) played for `periods`
periods by a seeded, plausible merchant: some never change their price (flat history: the
elasticity is not identified), some adjust it now and then, some run short promotions, some
explore in steps. About a tenth are newer products with a short history, and a couple have no
sales history at all. Names come from a small built-in word list matched to the unit cost;
guardrails (minimum and maximum price, MAP, margin floor, maximum change, a .99 ending) are set on
some SKUs and never conflict. The market's competitor prices and stock levels are kept where the
task has them.

`python -m agent.demo_catalog` regenerates `agent/data/demo_products.csv` and
`agent/data/demo_history.csv` (the committed files are exactly its output), and
`demo_catalog_paths()` locates them.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from env.distribution import sample_task
from env.market import Market

DATA_DIR = Path(__file__).resolve().parent / "data"

# (name, SKU prefix, typical unit cost range, variants)
ITEMS: tuple[tuple[str, str, float, float, tuple[str, ...]], ...] = (
    ("Ceramic mug", "MUG", 2, 8, ("350 ml", "450 ml", "350 ml, matte black")),
    ("Organic coffee beans", "COF", 5, 20, ("250 g", "500 g", "1 kg")),
    ("Green tea", "TEA", 2, 10, ("20 bags", "100 g loose leaf")),
    ("Dark chocolate bar", "CHO", 2, 5, ("70% 100 g", "85% 100 g")),
    ("Extra virgin olive oil", "OIL", 4, 15, ("500 ml", "1 l")),
    ("Bamboo cutting board", "BRD", 6, 20, ("small", "large")),
    ("Stainless steel water bottle", "BOT", 6, 18, ("500 ml", "750 ml")),
    ("Cotton T-shirt", "TSH", 4, 15, ("size S", "size M", "size L")),
    ("Merino wool socks", "SOC", 3, 10, ("2 pack", "3 pack")),
    ("Scented candle", "CAN", 3, 12, ("lavender", "cedar", "vanilla")),
    ("Dotted notebook", "NBK", 2, 8, ("A5", "A4")),
    ("Gel pens", "PEN", 2, 6, ("10 pack", "24 pack")),
    ("LED desk lamp", "LMP", 12, 40, ("white", "black")),
    ("Wireless mouse", "MOU", 8, 25, ("silent", "ergonomic")),
    ("USB-C charging cable", "CBL", 2, 8, ("1 m", "2 m")),
    ("Bluetooth speaker", "SPK", 20, 60, ("mini", "waterproof")),
    ("Yoga mat", "YOG", 10, 30, ("4 mm", "6 mm")),
    ("Trail running shoes", "SHO", 25, 60, ("size 40", "size 42", "size 44")),
    ("Daypack backpack", "BAG", 15, 45, ("20 l", "28 l")),
    ("Chef's knife", "KNF", 12, 50, ("20 cm",)),
    ("Cast iron skillet", "SKL", 15, 45, ("24 cm", "28 cm")),
    ("French press", "FRP", 10, 30, ("0.6 l", "1 l")),
    ("Dry dog food", "DOG", 10, 50, ("2 kg", "12 kg")),
    ("Clumping cat litter", "CAT", 4, 12, ("10 l", "20 l")),
    ("Herbal shampoo", "SHA", 2, 7, ("250 ml", "500 ml")),
    ("Sunscreen SPF 50", "SUN", 4, 12, ("100 ml", "200 ml")),
    ("Terracotta plant pot", "POT", 3, 12, ("14 cm", "18 cm")),
    ("Strategy board game", "GAM", 12, 40, ("2-4 players",)),
    ("Over-ear headphones", "HDP", 25, 60, ("wired", "noise cancelling")),
    ("Silicone phone case", "CAS", 2, 10, ("clear", "navy")),
    ("Laundry detergent", "LAU", 3, 10, ("2 l", "4 l")),
    ("Whey protein powder", "PRO", 10, 30, ("1 kg vanilla", "1 kg chocolate")),
)

STYLES = ("flat", "occasional", "promo", "explorer")
STYLE_P = (0.15, 0.45, 0.2, 0.2)


def _name(rng: np.random.Generator, cost: float, used: set[str]) -> tuple[str, str]:
    """A product name that suits the unit cost, avoiding names already used when it can."""
    fits = [it for it in ITEMS if it[2] <= cost <= it[3]]
    if not fits:
        fits = sorted(ITEMS, key=lambda it: min(abs(math.log(cost / it[2])), abs(math.log(cost / it[3]))))[:3]
    for _ in range(8):
        name, prefix, _, _, variants = fits[int(rng.integers(len(fits)))]
        text = f"{name} {variants[int(rng.integers(len(variants)))]}"
        if text not in used:
            break
    used.add(text)
    return text, prefix


def _merchant_prices(rng: np.random.Generator, style: str, p0: float, low: float, high: float,
                     periods: int) -> list[float]:
    """A plausible price path: flat, occasional changes, short promotions or stepwise exploration."""
    prices, base, promo_left, next_promo = [], p0, 0, int(rng.integers(4, 9))
    for t in range(periods):
        price = base
        if style == "occasional" and t > 0 and rng.random() < 0.15:
            base = p0 * math.exp(rng.normal(0, 0.08))
            price = base
        elif style == "promo":
            if promo_left == 0 and t == next_promo:
                promo_left = int(rng.integers(1, 3))
                depth = float(rng.uniform(0.10, 0.25))
                next_promo = t + promo_left + int(rng.integers(5, 10))
            if promo_left > 0:
                price, promo_left = base * (1 - depth), promo_left - 1
        elif style == "explorer" and t > 0 and t % 3 == 0:
            base = base * math.exp(float(rng.choice([-1, 1])) * rng.uniform(0.05, 0.12))
            base = min(max(base, p0 * 0.7), p0 * 1.4)
            price = base
        prices.append(round(min(max(price, low), high), 2))
    return prices


def _money(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def _count(x: float | None) -> str:
    return "" if x is None else f"{x:.0f}"


def _guardrails(rng: np.random.Generator, cost: float, current: float, seen_max: float) -> dict[str, str]:
    g: dict[str, float | None] = dict.fromkeys(("min_price", "max_price", "map_price", "min_margin",
                                                "max_change", "price_ending"))
    if rng.random() < 0.4:
        g["min_price"] = round(cost * float(rng.uniform(1.05, 1.2)), 2)
    if rng.random() < 0.4:
        g["max_price"] = round(max(seen_max, current) * float(rng.uniform(1.3, 2.0)), 2)
    if rng.random() < 0.1:
        g["map_price"] = round(current * float(rng.uniform(0.8, 0.9)), 2)
    if rng.random() < 0.35:
        g["min_margin"] = round(float(rng.uniform(0.15, 0.3)), 2)
    if rng.random() < 0.4:
        g["max_change"] = round(float(rng.uniform(0.1, 0.2)), 2)
    if rng.random() < 0.3:
        g["price_ending"] = 0.99
    floors = [v for v in (g["min_price"], g["map_price"]) if v is not None]
    if g["min_margin"] is not None:
        floors.append(cost / (1 - g["min_margin"]))
    if g["max_price"] is not None and floors and max(floors) > g["max_price"]:
        g["max_price"] = round(max(floors) * 1.5, 2)  # never a conflict in the demo
    return {k: ("" if v is None else f"{v:.2f}") for k, v in g.items()}


def build_demo_catalog(n: int = 50, periods: int = 30, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(products, history) as text tables, exactly as written to the demo CSV files."""
    if n < 1 or periods < 1:
        raise ValueError("n and periods: must be at least 1")
    products, history, used = [], [], set()
    for i in range(n):
        task = sample_task("validation", seed * 100_000 + i, horizon=periods)
        rng = np.random.default_rng([seed, i, 20261124])
        name, prefix = _name(rng, task.unit_cost, used)
        sku = f"{prefix}-{i + 1:04d}"
        style = str(rng.choice(STYLES, p=STYLE_P))
        prices = _merchant_prices(rng, style, task.initial_price, task.min_price, task.max_price, periods)
        market = Market(task)
        market.reset()
        rows = []
        for t, price in enumerate(prices):
            market.step(price)
            r = market.state.history[-1]
            stock = None if r.inventory is None else round(r.inventory)
            units = round(r.units) if stock is None else min(round(r.units), stock)
            rows.append({"sku": sku, "period": str(t), "price": _money(r.price), "units": _count(units),
                         "competitor_price": _money(r.competitor_price), "inventory": _count(stock)})
        kept = rows
        roll = rng.random()
        if roll < 0.04:
            kept = []  # a new listing: no sales history yet
        elif roll < 0.14:
            kept = rows[-int(rng.integers(3, 9)):]  # listed recently
        history += kept
        current = prices[-1]
        state = market.state
        comp = float(state.comp_prices.mean()) if state.comp_prices.size else None
        product = {"sku": sku, "name": name, "unit_cost": _money(task.unit_cost), "current_price": _money(current)}
        product.update(_guardrails(rng, task.unit_cost, current, max(prices)))
        product.update(competitor_price=_money(comp), inventory=_count(state.stock))
        products.append(product)
    return pd.DataFrame(products, dtype=object), pd.DataFrame(history, dtype=object)


def demo_catalog_paths() -> tuple[Path, Path]:
    """The committed demo products and history CSV files (package data)."""
    return DATA_DIR / "demo_products.csv", DATA_DIR / "demo_history.csv"


def write_demo_catalog(folder: Path = DATA_DIR, n: int = 50, periods: int = 30, seed: int = 0) -> tuple[Path, Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    products, history = build_demo_catalog(n, periods, seed)
    paths = folder / "demo_products.csv", folder / "demo_history.csv"
    for df, path in zip((products, history), paths, strict=True):
        df.to_csv(path, index=False, lineterminator="\n")
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the demo catalog CSV files.")
    parser.add_argument("--n", type=int, default=50, help="number of SKUs")
    parser.add_argument("--periods", type=int, default=30, help="history periods per SKU")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="folder to write the two CSV files into")
    args = parser.parse_args(argv)
    for path in write_demo_catalog(args.out, args.n, args.periods, args.seed):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

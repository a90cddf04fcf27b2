"""Order exports -> sales history: one row per SKU per ISO week, price = revenue / units.

A shop's order export has one row per sold line (Shopify, WooCommerce) or per SKU and date (Amazon's
business report); the pricing history wants one (period, price, units) point per product and period.
Lines are summed per SKU and ISO week (the period is the week's Monday, so weeks sort as dates and a
week without sales is simply absent: its price is unknown). A line's revenue is its total when the
export writes one, else units x unit price less the line's discount.

Skipped, because they sold nothing: lines without a SKU (shipping, custom items), cancelled orders
(`Cancelled at` set) and orders whose status says refunded, voided, failed or cancelled, and weeks
whose units sum to zero or less. Order-level fields (date, status) written only on an order's first
line are carried down to its other lines. A cell that is not a number or a date is an error naming its
row: order exports are machine-written, so one is a sign of a wrong column, not of a typo to skip.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from agent.catalog.platforms import ORDER_OUTPUT, VOID_STATUSES
from agent.catalog.schema import CatalogError
from agent.catalog.values import is_day_first, parse_count, parse_date, parse_money, parse_number

ORDER_FIELDS = ("date", "status", "cancelled")  # written once per order


def _carry_down(frame: pd.DataFrame) -> pd.DataFrame:
    if "order" not in frame.columns:
        return frame
    frame = frame.copy()
    order = frame["order"].ffill()
    for column in (c for c in ORDER_FIELDS if c in frame.columns):
        frame[column] = frame[column].groupby(order, sort=False).ffill().where(order.notna(), frame[column])
    return frame


def _text(x: float) -> str:
    x = round(x, 4)
    return str(int(x)) if x == int(x) else repr(x)


def weekly_history(frame: pd.DataFrame, label: str, where: str = "") -> pd.DataFrame:
    """The summed weekly history of an order export's lines (`frame`: the plan's targets, text cells)."""
    missing = [what for what, ok in (("sku", "sku" in frame), ("date", "date" in frame),
                                     ("units", "units" in frame),
                                     ("price or line total", "price" in frame or "revenue" in frame)) if not ok]
    if missing:
        raise CatalogError(f"{where}read as {label}, but it has no {' and no '.join(missing)} column; "
                           f'say which column holds it with a column mapping, e.g. --columns "history.period=<column>"')
    frame = _carry_down(frame.reset_index(drop=True).assign(_row=lambda f: range(1, len(f) + 1)))
    keep = frame["sku"].notna()
    if "cancelled" in frame:
        keep &= frame["cancelled"].isna()
    if "status" in frame:
        status = frame["status"].fillna("").str.strip().str.lower().str.removeprefix("wc-")
        keep &= ~status.isin(VOID_STATUSES)
    lines = frame[keep]
    if not len(lines):
        return pd.DataFrame({c: [] for c in ORDER_OUTPUT}, dtype=object)
    rows = lines["_row"].tolist()
    day_first = is_day_first(lines["date"].tolist())
    dates = [parse_date(v, f"{where}row {r}, column 'date'", day_first) for v, r in zip(lines["date"], rows,
                                                                                        strict=True)]
    units = [parse_count(v, f"{where}row {r}, column 'units'") for v, r in zip(lines["units"], rows, strict=True)]
    if "revenue" in lines:
        revenue = [parse_number(v, f"{where}row {r}, column 'line total'") if v is not None else None
                   for v, r in zip(lines["revenue"], rows, strict=True)]
    else:
        revenue = [None] * len(rows)
    for i, r in enumerate(rows):
        if revenue[i] is None:
            if "price" not in lines or lines["price"].iloc[i] is None:
                raise CatalogError(f"{where}row {r}: a line with neither a price nor a total")
            revenue[i] = units[i] * parse_money(lines["price"].iloc[i], f"{where}row {r}, column 'price'")
            if "discount" in lines and lines["discount"].iloc[i] is not None:
                revenue[i] -= parse_money(lines["discount"].iloc[i], f"{where}row {r}, column 'discount'")
    weeks = [d - dt.timedelta(days=d.weekday()) for d in dates]
    summed = pd.DataFrame({"sku": lines["sku"].tolist(), "week": weeks, "units": units, "revenue": revenue})
    summed = summed.groupby(["sku", "week"], sort=False, as_index=False)[["units", "revenue"]].sum()
    summed = summed[summed["units"] > 0]
    first = {s: i for i, s in reversed(list(enumerate(lines["sku"])))}
    summed = summed.assign(_first=summed["sku"].map(first)).sort_values(["_first", "week"], kind="stable")
    return pd.DataFrame({"sku": summed["sku"].tolist(),
                         "period": [w.isoformat() for w in summed["week"]],
                         "price": [_text(r / u) for r, u in zip(summed["revenue"], summed["units"], strict=True)],
                         "units": [_text(u) for u in summed["units"]]}, dtype=object)

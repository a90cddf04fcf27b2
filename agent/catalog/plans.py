"""Which of a file's columns is which catalog column: the merchant's explicit mapping, a recognised shop
platform's export, or the ordinary names and aliases, in that order of authority.

A `Plan` is made from a table's header alone (so a whole catalog streams through it chunk by chunk) and
says, for each catalog column, which of the file's columns hold it; with several, a row takes the first
that is not empty (WooCommerce's price is its sale price, else its regular price). A platform's plan can
also drop rows that are no products (Shopify's image rows) and fill a column down within a product
(a Shopify variant's title); an order export's plan feeds `orders.weekly_history` instead.

The explicit mapping, `--columns "sku=Variant SKU,unit_cost=Cost per item,history.units=Qty"` in the CLI and
the same text in the API and the Catalog tab, names file columns as the file writes them (matched trimmed
and case-blind); a name the file lacks, an unknown catalog column or a column mapped twice is an error.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from agent.catalog.platforms import ORDER_OUTPUT, Platform, candidates
from agent.catalog.schema import (
    COMBINED_COLUMNS,
    HISTORY_COLUMNS,
    PRODUCT_COLUMNS,
    CatalogError,
    canonical_names,
    duplicate_column,
    normalize_name,
)

PRODUCT_TARGETS = tuple(dict.fromkeys([*PRODUCT_COLUMNS, *COMBINED_COLUMNS]))
MAPPING_HELP = ('a comma-separated list of catalog column=file column, e.g. "sku=Variant SKU,unit_cost=Cost per '
                'item,history.units=Qty" (history.* for the sales-history file)')


@dataclass(frozen=True)
class ColumnMap:
    """The merchant's explicit column mapping: (catalog column, file column) pairs per file."""

    products: tuple[tuple[str, str], ...] = ()
    history: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.products or self.history)

    @classmethod
    def parse(cls, spec: str | ColumnMap | Mapping[str, str] | None) -> ColumnMap:
        """A mapping from its text ("sku=Variant SKU, history.units=Qty"), a dict or None (no mapping)."""
        if spec is None or isinstance(spec, ColumnMap):
            return spec or cls()
        items = list(spec.items()) if isinstance(spec, Mapping) else [
            tuple(part.split("=", 1)) if "=" in part else (part, "")
            for part in str(spec).replace("\n", ",").split(",") if part.strip()]
        roles: dict[str, dict[str, str]] = {"products": {}, "history": {}}
        for target, column in items:
            target, column = str(target).strip(), str(column).strip()
            if not target or not column:
                raise CatalogError(f"columns: '{target or column}' maps nothing; use {MAPPING_HELP}")
            role, _, name = target.rpartition(".")
            role = {"": "products", "products": "products", "history": "history"}.get(role.strip().lower())
            name = normalize_name(name)
            if role == "history" and name not in HISTORY_COLUMNS:
                raise CatalogError(f"columns: '{target}' is not a history column ({', '.join(HISTORY_COLUMNS)})")
            if role is None or (role == "products" and name not in PRODUCT_TARGETS):
                raise CatalogError(f"columns: '{target}' is not a catalog column (products: "
                                   f"{', '.join(PRODUCT_TARGETS)}; history.{', history.'.join(HISTORY_COLUMNS)})")
            if name in roles[role]:
                raise CatalogError(f"columns: '{target}' is mapped twice")
            roles[role][name] = column
        return cls(tuple(roles["products"].items()), tuple(roles["history"].items()))

    def describe(self) -> str:
        pairs = [*self.products, *((f"history.{t}", c) for t, c in self.history)]
        return ",".join(f"{t}={c}" for t, c in pairs)


@dataclass(frozen=True)
class Plan:
    """How one table's columns become catalog columns (see the module docstring)."""

    raw: tuple[str, ...]  # the header as the file writes it
    sources: tuple[tuple[str, tuple[str, ...]], ...]  # (target, file columns: the first non-empty wins)
    platform: Platform | None = None
    explicit: tuple[str, ...] = ()  # targets the merchant mapped
    unknown: tuple[str, ...] = field(default=())  # ordinary columns the catalog does not read

    @property
    def orders(self) -> bool:
        return self.platform is not None and self.platform.orders

    @property
    def columns(self) -> list[str]:
        """The catalog columns the table yields."""
        if self.orders:
            return list(ORDER_OUTPUT)
        helpers = {"group", "type"} if self.platform is not None else set()
        return [t for t, _ in self.sources if t not in helpers]

    def needed(self, wanted: Collection[str] | None) -> set[str] | None:
        """The file columns to read for the `wanted` catalog columns (None: all of them)."""
        if wanted is None or self.orders:
            return None
        extra = set()
        if self.platform is not None:
            extra = {*self.platform.keep_if_any, "type", "group", *self.platform.fill_down}
        return {raw for t, raws in self.sources if t in wanted or t in extra for raw in raws}

    def used(self) -> set[str]:
        return {raw for _, raws in self.sources for raw in raws}

    def notes(self) -> list[str]:
        """What the reader made of the table, for the run's summary."""
        out = []
        if self.platform is not None:
            how = ", ".join(f"{t} from '{raws[0]}'" for t, raws in self.sources if t not in ("group", "type"))
            rest = len([c for c in self.raw if c not in self.used()])
            out.append(f"read as {self.platform.a_label} ({how}); {rest} other column(s) not used")
        return out

    def hints(self, missing: Sequence[str]) -> list[str]:
        """Why a required column is missing, when a platform or mapping explains it."""
        if self.platform is None:
            return []
        names = [(m, self.platform.names("date" if self.orders and m == "period" else m)) for m in missing]
        said = [f"{m} as {' or '.join(repr(n) for n in ns)}" for m, ns in names if ns]
        return [f"read as {self.platform.a_label}" + (f", which writes {', '.join(said)}" if said else "")]

    def apply(self, frame: pd.DataFrame, state: dict) -> pd.DataFrame:
        """A chunk with the file's column names and clean text cells (or None) -> catalog columns.

        `state` carries a fill-down across the chunks of one read.
        """
        n = len(frame)
        out: dict[str, list] = {}
        for target, raws in self.sources:
            present = [r for r in raws if r in frame.columns]
            if not present:
                continue
            values = list(frame[present[0]])
            for other in present[1:]:
                values = [v if v is not None else w for v, w in zip(values, frame[other], strict=True)]
            out[target] = values
        keep = [True] * n
        p = self.platform
        if p is not None and p.keep_if_any:
            cols = [out[t] for t in p.keep_if_any if t in out]
            keep = [any(c[i] is not None for c in cols) for i in range(n)] if cols else keep
        if p is not None and p.drop_types and "type" in out:
            keep = [k and (t or "").strip().lower() not in p.drop_types for k, t in zip(keep, out["type"], strict=True)]
        if p is not None and p.fill_down and "group" in out:
            for target in (t for t in p.fill_down if t in out):
                out[target] = _fill_down(out[target], out["group"], state.setdefault(target, [None, None]))
        rows = [i for i in range(n) if keep[i]]
        names = [t for t in out if t not in ("group", "type") or self.orders] if p is not None else list(out)
        return pd.DataFrame({t: [out[t][i] for i in rows] for t in names}, index=range(len(rows)), dtype=object)


def _fill_down(values: list, groups: list, last: list) -> list:
    """Empty cells take the last value seen in the same group (`last`: [group, value], carried along)."""
    filled = []
    for value, group in zip(values, groups, strict=True):
        if group is not None and group != last[0]:
            last[0], last[1] = group, None
        if value is not None:
            last[1] = value
        filled.append(value if value is not None else last[1] if group is not None else None)
    return filled


def _find(raw: Sequence[str], normalized: list[str], column: str) -> str | None:
    if column in raw:
        return column
    key = normalize_name(column)
    return next((r for r, n in zip(raw, normalized, strict=True) if n == key), None)


def build_plan(raw: Sequence[str], mapping: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
               where: str = "") -> Plan:
    """The plan for a table with header `raw` (`where`: the message prefix naming it, e.g. 'path: ')."""
    raw = [str(c) for c in raw]
    normalized = [normalize_name(c) for c in raw]
    pairs = list(mapping.items()) if isinstance(mapping, Mapping) else list(mapping or [])
    sources: dict[str, tuple[str, ...]] = {}
    explicit: dict[str, str] = {}
    for target, column in pairs:
        found = _find(raw, normalized, column)
        if found is None:
            shown = ", ".join(repr(c[:30]) for c in raw[:15]) + (f" and {len(raw) - 15} more" if len(raw) > 15 else "")
            raise CatalogError(f"{where}column mapping {target}={column}: '{column}' is not a column of this file "
                               f"(its columns: {shown or 'none'})")
        if found in explicit.values():
            raise CatalogError(f"{where}column mapping: '{column}' is mapped to two catalog columns")
        explicit[target] = found
    platform = _platform(set(normalized), bool(explicit), where)
    if platform is not None:
        for target, names in platform.columns:
            present = tuple(dict.fromkeys(r for name in names for r in [_find(raw, normalized, name)] if r))
            if present:
                sources[target] = present
    for target, found in explicit.items():
        target = "date" if platform is not None and platform.orders and target == "period" else target
        sources = {t: tuple(r for r in rs if r != found) for t, rs in sources.items()}
        sources = {t: rs for t, rs in sources.items() if rs}
        sources[target] = (found,)
    used = {r for rs in sources.values() for r in rs}
    rest = [r for r in raw if r not in used]
    names = canonical_names(rest)
    dup = duplicate_column([n for n in names if n not in sources])
    if dup is not None:
        raise CatalogError(f"{where}duplicate column '{dup}'")
    unknown = []
    for column, name in zip(rest, names, strict=True):
        known = name in PRODUCT_TARGETS or name in HISTORY_COLUMNS
        if name in sources or (platform is not None and (platform.orders or not known)):
            continue  # a platform's other columns are its own business (`Plan.notes` counts them)
        sources[name] = (column,)
        if not known:
            unknown.append(name)
    return Plan(tuple(raw), tuple(sources.items()), platform, tuple(explicit), tuple(unknown))


def _platform(present: set[str], explicit: bool, where: str) -> Platform | None:
    found = candidates(present)
    if len(found) > 1:
        if explicit:
            return None  # the merchant said which column is which: no guessing
        which = "; ".join(f"{p.a_label} ({', '.join(hits[:3])})" for p, hits in found)
        raise CatalogError(f"{where}the columns look like more than one shop export: {which}. Which column is "
                           f'which cannot be known: say it with a column mapping, e.g. --columns "sku=<column>,'
                           'unit_cost=<column>,current_price=<column>"')
    return found[0][0] if found else None

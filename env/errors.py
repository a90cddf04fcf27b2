"""One-line messages for user mistakes, beside the shared schemas of `env.context`.

Why here: the CLI, the catalog scorer, the HTTP API, the chat and the config loader all turn a pydantic
`ValidationError` (or any other user mistake) into a short line a person can act on. Written once, at the
bottom layer, every door says the same thing about the same mistake and none imports another door.
"""

from __future__ import annotations

from pydantic import ValidationError

from env.context import MIN_PRICE_AMOUNT


def one_line(text: object, limit: int = 500) -> str:
    """Whitespace (newlines included) collapsed, cut to `limit` characters: safe for a log line or a header."""
    return " ".join(str(text).split())[:limit]


def short_value(value: object) -> str:
    """The offending value as it was given, shortened so a huge cell cannot flood the message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def field_message(error: dict) -> str:
    """What is wrong with one field of a pydantic error, in merchant words ("not a number ('abc')")."""
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return "missing"
    if isinstance(value, str) and value.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return f"not a finite number ({short_value(value)})"
    if kind in ("float_parsing", "float_type"):
        return f"not a number ({short_value(value)})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"not a whole number ({short_value(value)})"
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    if kind == "less_than_equal":
        return f"above the plausibility limit of {error['ctx']['le']:g} (got {short_value(value)})"
    if kind == "greater_than_equal" and error["ctx"]["ge"] == MIN_PRICE_AMOUNT:
        return f"must be a price of at least {MIN_PRICE_AMOUNT:g} (got {short_value(value)})"
    text = error["msg"].replace("Input should be", "must be")
    return text + (f" (got {short_value(value)})" if isinstance(value, str | int | float) else "")


def describe_error(err: BaseException, default_field: str = "input") -> str:
    """One line: the first offending field and pydantic's message for a `ValidationError` (plus how many
    more), else the first line of the message (or the exception's type when it has none)."""
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or default_field
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        return f"{where}: {first['msg']}{more}"
    return str(err).splitlines()[0] if str(err) else type(err).__name__

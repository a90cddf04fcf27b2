"""One sales-history file, every door: the chat's reader and the catalog scorer accept it and read the same
numbers (issue 15: one table reader). The file uses other column spellings, "$" prices, thousands
separators and dates out of order, as a shop export does."""

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agent.catalog import CatalogError, contexts_for, read_table, read_upload, score_files
from agent.registry import product_policy
from ui.facts import MerchantFacts, facts_from_history_file, facts_from_history_upload

HISTORY = (
    "SKU,Date,Unit Price,Qty,Competitor\n"
    "MUG-1,2026-03-15,$13.25,\"1,050\",$13.50\n"
    "MUG-1,2026-03-01,$11.00,\"1,200\",\n"
    "MUG-1,2026-03-08,\"$12.50\",\"1,100\",$13.00\n"
)
PRODUCTS = "sku,unit_cost,current_price\nMUG-1,$4.00,$13.25\n"
EXPECTED = [(11.0, 1200.0, None), (12.5, 1100.0, 13.0), (13.25, 1050.0, 13.5)]  # in date order


@pytest.fixture
def files(tmp_path):
    history, products = tmp_path / "sales.csv", tmp_path / "products.csv"
    history.write_text(HISTORY)
    products.write_text(PRODUCTS)
    return products, history


def test_the_chat_and_the_catalog_read_the_same_numbers(files):
    products, history = files
    chat = facts_from_history_file(history, MerchantFacts(unit_cost=4.0))
    assert [(s.price, s.units, s.competitor_price) for s in chat.sales] == EXPECTED
    [(sku, ctx, err)] = contexts_for(read_table(products), read_table(history))
    assert (sku, err) == ("MUG-1", None)
    assert [(r.price, r.units, r.competitor_price) for r in ctx.history] == EXPECTED
    assert [r.period for r in ctx.history] == [0, 1, 2]
    assert ctx.product.unit_cost == 4.0 and ctx.product.current_price == 13.25
    assert chat.context().history == ctx.history  # the same rows, field for field


def test_the_catalog_scorer_scores_it(files, tmp_path):
    products, history = files
    summary = score_files(products, history, tmp_path / "out.csv", product_policy("ts"), progress=False)
    assert (summary.scored, summary.errors, summary.warnings) == (1, 0, [])
    row = read_table(tmp_path / "out.csv").iloc[0]
    assert row["error"] is None and math.isfinite(float(row["recommended_price"]))


def test_uploaded_bytes_read_like_the_file(files):
    products, history = files
    assert read_upload(history.read_bytes(), "sales.csv").equals(read_table(history))
    upload = facts_from_history_upload(history.read_bytes(), "/some/where/sales.csv", MerchantFacts())
    assert [(s.price, s.units, s.competitor_price) for s in upload.sales] == EXPECTED
    assert upload.source == "file sales.csv"


def test_a_typed_parquet_export_reads_the_same(tmp_path):
    import datetime as dt

    path = tmp_path / "sales.parquet"
    pq.write_table(pa.table({"date": [dt.date(2026, 3, 15), dt.date(2026, 3, 1), dt.date(2026, 3, 8)],
                             "quantity": [1050, 1200, 1100], "selling_price": [13.25, 11.0, 12.5],
                             "competitor_price": [13.5, None, 13.0]}), path)
    chat = facts_from_history_file(path, MerchantFacts())
    assert [(s.price, s.units, s.competitor_price) for s in chat.sales] == EXPECTED


def test_a_bad_cell_is_named_at_both_doors(tmp_path, files):
    products, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text(HISTORY.replace("$12.50", "twelve"))
    with pytest.raises(ValueError, match=r"bad.csv, row 3, column 'price': expected an amount of money") as err:
        facts_from_history_file(bad, MerchantFacts())
    assert "\n" not in str(err.value) and str(tmp_path) not in str(err.value)
    [(_, ctx, error)] = contexts_for(read_table(products), read_table(bad))
    assert ctx is None and error == "history period 1: price: not a number ('twelve')"


def test_upload_errors_name_the_problem_never_a_path():
    with pytest.raises(CatalogError) as err:
        read_upload(b"PK\x03\x04", "sales.numbers")
    assert str(err.value).startswith("unsupported file type")
    with pytest.raises(CatalogError, match="^not readable as XLSX"):
        read_upload(b"PK\x03\x04", "sales.xlsx")
    with pytest.raises(CatalogError, match="^empty table \\(no rows\\)$"):
        read_upload(b"price,units\n", "sales.csv")
    with pytest.raises(CatalogError, match="^not readable as PARQUET"):
        read_upload(b"not parquet", "sales.parquet")
    with pytest.raises(ValueError, match="^I could not read sales.parquet: not readable as PARQUET"):
        facts_from_history_upload(b"not parquet", "/tmp/gradio/x/sales.parquet", MerchantFacts())


EUROPEAN = "\ufeffSKU;Date;Price;Qty\r\nT-1;15.03.2026;1.349,00 €;2\r\nT-1;01.03.2026;1.299,00 €;3\r\n"
SHOPIFY_ORDERS = ("Name,Financial Status,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,"
                  "Cancelled at\n#1,paid,2026-03-02 10:00:00 +0100,2,Mug,12.00,T-1,\n"
                  "#2,paid,2026-03-04 10:00:00 +0100,1,Mug,9.00,T-1,\n#3,paid,2026-03-10 10:00:00 +0100,3,Mug,11.00,"
                  "T-1,\n#4,refunded,2026-03-11 10:00:00 +0100,5,Mug,11.00,T-1,\n")


@pytest.mark.parametrize(("content", "name", "expected"), [
    # a European Excel CSV: BOM, semicolons, decimal commas, thousands dots, dates day first (rows out of order)
    (EUROPEAN.encode("utf-8"), "verkauf.csv", [(1299.0, 3.0), (1349.0, 2.0)]),
    # Excel's "Unicode text" of the same sales: UTF-16 with tabs
    (EUROPEAN.replace(";", "\t").encode("utf-16"), "verkauf.txt", [(1299.0, 3.0), (1349.0, 2.0)]),
    # a Shopify orders export of one product: summed per ISO week (price = revenue / units), refunds left out
    (SHOPIFY_ORDERS.encode(), "orders_export.csv", [(11.0, 3.0), (11.0, 3.0)]),
])
def test_the_chat_and_the_catalog_read_merchants_real_files(tmp_path, content, name, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert [(s.price, s.units) for s in facts_from_history_file(path, MerchantFacts()).sales] == expected
    assert [(s.price, s.units) for s in facts_from_history_upload(content, name, MerchantFacts()).sales] == expected
    products = read_upload(b"sku;unit_cost;current_price\nT-1;4,00;1.299,00\n", "products.csv")
    [(_, ctx, err)] = contexts_for(products, read_table(path))
    assert err is None and [(r.price, r.units) for r in ctx.history] == expected
    assert ctx.product.current_price == 1299.0


@pytest.mark.parametrize("name", ["sales.tsv", "sales.txt", "sales.xlsx", "sales.parquet", "sales.jsonl",
                                  "sales.csv.gz"])
def test_the_chat_upload_takes_every_format_the_catalog_reads(tmp_path, name):
    """The chat's upload widget offers every extension of the one catalog reader, and the chat reads each
    through it: the same sales as the CSV (issue 16)."""
    import gzip

    import pandas as pd

    from agent.catalog import FORMATS
    from ui.app import TABLE_TYPES

    assert {"." + suffix.rsplit(".", 1)[-1] for suffix in FORMATS} <= set(TABLE_TYPES)
    table = read_table(_write(tmp_path / "sales.csv", HISTORY))
    path = tmp_path / name
    if name.endswith((".tsv", ".txt")):
        table.to_csv(path, sep="\t" if name.endswith(".tsv") else ";", index=False)
    elif name.endswith(".xlsx"):
        table.to_excel(path, index=False)
    elif name.endswith(".parquet"):
        table.to_parquet(path)
    elif name.endswith(".jsonl"):
        table.to_json(path, orient="records", lines=True)
    else:
        path.write_bytes(gzip.compress(HISTORY.encode()))
    assert isinstance(table, pd.DataFrame) and len(table) == 3
    for facts in (facts_from_history_file(path, MerchantFacts()),
                  facts_from_history_upload(path.read_bytes(), name, MerchantFacts())):
        assert [(s.price, s.units, s.competitor_price) for s in facts.sales] == EXPECTED


def _write(path, text: str):
    path.write_text(text)
    return path

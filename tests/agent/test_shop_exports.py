"""Merchants' real files: shop-platform exports, European and Excel dialects, .xlsx and explicit column mappings.

The platform files under tests/data/shop_exports/ use the column names and layouts the platforms document
(Shopify product and orders exports, WooCommerce product export and a one-row-per-item order export, an
Amazon all-listings report in Windows-1252 with tabs, a German Excel CSV); UTF-16 "Unicode text" and .xlsx are
built here. Each is read by the one table reader and scored by `score_files`, with the numbers it should give.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from agent.api import create_app
from agent.catalog import CatalogError, ColumnMap, contexts_for, read_table, read_upload, score_files, table_plan
from agent.catalog.dialects import sniff
from agent.cli import app
from agent.registry import product_policy

DATA = Path(__file__).resolve().parents[1] / "data" / "shop_exports"
SHOPIFY_PRODUCTS = DATA / "shopify_products_export.csv"
SHOPIFY_ORDERS = DATA / "shopify_orders_export.csv"
WOO_PRODUCTS = DATA / "wc-product-export-18-2-2026.csv"
WOO_ORDERS = DATA / "wc-order-export-items.csv"
AMAZON_LISTINGS = DATA / "All+Listings+Report.txt"
EUROPEAN = DATA / "artikel_export_de.csv"
runner = CliRunner()


def _facts(products, history=None, mapping=None) -> dict:
    """{sku: (unit_cost, current_price, inventory, [(period, price, units), ...])} of every scorable row."""
    out = {}
    for sku, ctx, err in contexts_for(products, history, mapping):
        assert err is None, (sku, err)
        out[sku] = (ctx.product.unit_cost, ctx.product.current_price, ctx.inventory,
                    [(h.period, h.price, h.units) for h in ctx.history])
    return out


def _scored(tmp_path, products, history=None, mapping=None):
    out = tmp_path / "scored.csv"
    summary = score_files(products, history, out, product_policy("ts"), progress=False, mapping=mapping)
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert summary.errors == 0 and (table["error"] == "").all(), table["error"].tolist()
    return summary, table


def test_shopify_products_and_orders_score_as_they_are(tmp_path):
    plan = table_plan(SHOPIFY_PRODUCTS)
    assert plan.platform.key == "shopify_products"
    facts = _facts(read_table(SHOPIFY_PRODUCTS), read_table(SHOPIFY_ORDERS))
    # image-only row dropped; the Green variant takes its product's title; orders summed per ISO week (Monday),
    # without the cancelled (#1005), refunded (#1007) and SKU-less (gift wrap) lines; #1002's discount counts
    assert facts == {
        "MUG-BLUE": (4.10, 14.00, 120.0, [(0, 13.3, 4.0), (1, 13.0, 3.0), (2, 12.0, 5.0)]),
        "MUG-GREEN": (4.10, 14.00, 80.0, [(0, 13.0, 1.0)]),
        "CANDLE-LAV": (6.50, 22.00, 45.0, [(0, 22.0, 1.0), (1, 20.0, 2.0), (2, 20.0, 1.0)]),
    }
    history = read_table(SHOPIFY_ORDERS)
    assert history["period"].tolist()[:3] == ["2026-02-02", "2026-02-09", "2026-02-16"]
    names = read_table(SHOPIFY_PRODUCTS)["name"].tolist()
    assert names == ["Ceramic Mug", "Ceramic Mug", "Lavender Soy Candle"]
    summary, table = _scored(tmp_path, SHOPIFY_PRODUCTS, SHOPIFY_ORDERS)
    assert table["sku"].tolist() == ["MUG-BLUE", "MUG-GREEN", "CANDLE-LAV"] and summary.scored == 3
    assert any("read as a Shopify product export" in w for w in summary.warnings)
    assert any("history: read as a Shopify orders export" in w for w in summary.warnings)


def test_woocommerce_products_and_orders(tmp_path):
    facts = _facts(read_table(WOO_PRODUCTS), read_table(WOO_ORDERS))
    # the sale price is the price now when set; the `variable` parent row is no product; cost from the COGS meta
    assert facts == {
        "TEE-WHITE": (8.5, 19.0, 40.0, [(0, 19.0, 3.0), (1, 18.0, 3.0), (2, 20.0, 4.0)]),
        "HOODIE-S": (21.0, 49.0, 12.0, [(0, 49.0, 1.0), (1, 49.0, 2.0)]),
        "HOODIE-M": (21.0, 44.0, 7.0, [(0, 44.0, 1.0)]),
    }
    summary, table = _scored(tmp_path, WOO_PRODUCTS, WOO_ORDERS)
    assert summary.scored == 3 and "HOODIE" not in table["sku"].tolist()


def test_amazon_listings_report_tab_separated_windows_1252(tmp_path):
    assert AMAZON_LISTINGS.read_bytes().count(b"\xe9") == 1  # "Café" in Windows-1252, not UTF-8
    table = read_table(AMAZON_LISTINGS)
    assert table["name"].tolist() == ["Café Espresso Cups, Set of 4", "Bamboo Coasters (6)"]
    # `quantity` there is stock, not units sold; the seller's own `cost` column is read by its alias
    assert _facts(table) == {"ESP-CUP-4": (7.80, 24.99, 37.0, []), "COAST-BAM-6": (3.10, 12.49, 0.0, [])}
    summary, _ = _scored(tmp_path, AMAZON_LISTINGS)
    assert summary.scored == 2


def test_amazon_business_report_becomes_weekly_history():
    report = pd.DataFrame({
        "Date": ["2026-02-02", "2026-02-04", "2026-02-09", "2026-02-03"],
        "(Parent) ASIN": ["B0C1ESPR01"] * 3 + ["B0C1COAS02"], "(Child) ASIN": ["B0C1ESPR01"] * 3 + ["B0C1COAS02"],
        "Title": ["Cups"] * 3 + ["Coasters"], "SKU": ["ESP-CUP-4"] * 3 + ["COAST-BAM-6"],
        "Sessions - Total": ["120", "98", "130", "40"], "Units Ordered": ["3", "1", "5", "2"],
        "Ordered Product Sales": ["$74.97", "$24.99", "$114.95", "$24.98"], "Total Order Items": ["3", "1", "5", "2"]})
    history = read_upload(report.to_csv(index=False).encode(), "BusinessReport-2026.csv")
    assert history.to_dict("list") == {"sku": ["ESP-CUP-4", "ESP-CUP-4", "COAST-BAM-6"],
                                       "period": ["2026-02-02", "2026-02-09", "2026-02-02"],
                                       "price": ["24.99", "22.99", "12.49"], "units": ["4", "5", "2"]}
    with pytest.raises(CatalogError, match="read as an Amazon business report .*no date column"):
        read_upload(report.drop(columns="Date").to_csv(index=False).encode(), "BusinessReport.csv")


def test_european_csv_semicolons_bom_decimal_commas(tmp_path):
    raw = EUROPEAN.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw
    facts = _facts(read_table(EUROPEAN))
    # "1.299,00 €" and the bare "1.199" are thousands in a decimal-comma file; "25%" is 0.25; dates day first
    assert facts == {"LAMP-NORD": (410.0, 1299.0, None, [(0, 1349.0, 2.0), (1, 1299.0, 3.0), (2, 1199.0, 4.0)]),
                     "KERZE-01": (3.2, 12.5, None, [(0, 12.5, 40.0), (1, 11.9, 46.0)])}
    assert contexts_for(read_table(EUROPEAN))[0][1].guardrails.min_margin == 0.25
    summary, table = _scored(tmp_path, EUROPEAN)
    assert table["current_price"].tolist() == ["1299.0", "12.5"] and summary.scored == 2


UNICODE_TEXT = ("SKU\tProduct\tCost\tPrice now\tDate\tPrice\tQty\r\n"
                "ŁYŻKA-1\tŁyżka drewniana\t2,10\t7,90\t03/02/2026\t7,90\t30\r\n"
                "ŁYŻKA-1\tŁyżka drewniana\t2,10\t7,90\t10/02/2026\t7,50\t34\r\n"
                "ŁYŻKA-1\tŁyżka drewniana\t2,10\t7,90\t17/02/2026\t8,20\t27\r\n")


def test_utf16_unicode_text_from_excel(tmp_path):
    path = tmp_path / "sales.txt"
    path.write_bytes(UNICODE_TEXT.encode("utf-16"))  # Excel's "Unicode text": UTF-16 with BOM, tabs, CRLF
    expected = {"ŁYŻKA-1": (2.1, 7.9, None, [(0, 7.9, 30.0), (1, 7.5, 34.0), (2, 8.2, 27.0)])}
    assert _facts(read_table(path)) == expected
    assert _facts(read_upload(path.read_bytes(), "sales.txt")) == expected
    summary, _ = _scored(tmp_path, path)
    assert summary.scored == 1
    # UTF-16 without a byte-order mark is recognised by its NUL bytes too
    assert _facts(read_upload(UNICODE_TEXT.encode("utf-16-le"), "sales.tsv")) == expected


def _workbook(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Products"
    sheet.append(["SKU", "Product name", "Cost", "Price", "Stock", None])
    sheet.append(["BOWL-1", "Stoneware bowl", 3.25, 11.9, 14])
    sheet.append(["BOWL-2", "Serving bowl", 6, 24.5, 3])
    sheet.append([None, None, None, None, None])  # a formatted but empty row below the data
    history = book.create_sheet("Sales")
    history.append(["sku", "date", "price", "units"])
    for day, price, units in ((5, 11.9, 20), (12, 12.9, 16), (19, 10.9, 25)):
        history.append(["BOWL-1", dt.datetime(2026, 1, day), price, units])
    book.save(path)


def test_xlsx_from_path_and_from_bytes(tmp_path):
    products = tmp_path / "catalog.xlsx"
    _workbook(products)
    table = read_table(products)
    assert table.to_dict("list") == {"sku": ["BOWL-1", "BOWL-2"], "name": ["Stoneware bowl", "Serving bowl"],
                                     "unit_cost": ["3.25", "6"], "current_price": ["11.9", "24.5"],
                                     "inventory": ["14", "3"]}
    assert read_upload(products.read_bytes(), "catalog.xlsx").equals(table)
    assert _facts(table) == {"BOWL-1": (3.25, 11.9, 14.0, []), "BOWL-2": (6.0, 24.5, 3.0, [])}
    # a history workbook with real date cells (its first sheet that holds data is read)
    book = openpyxl.load_workbook(products)
    del book["Products"]
    sales = tmp_path / "sales.xlsx"
    book.save(sales)
    assert _facts(table, read_table(sales))["BOWL-1"][3] == [(0, 11.9, 20.0), (1, 12.9, 16.0), (2, 10.9, 25.0)]
    summary, _ = _scored(tmp_path, products, sales)
    assert summary.scored == 2


@pytest.mark.parametrize(("text", "dialect"), [
    (b"sku,name,unit_cost\nA,Mug,4.5\n", ("utf-8", ",", ".")),
    (b"\xef\xbb\xbfsku;name;unit_cost\nA;Mug, blue;4,50\n", ("utf-8-sig", ";", ",")),
    (b"sku|name|unit_cost\nA|Mug|4.50\n", ("utf-8", "|", ".")),
    (b"sku\tname\tprice\nA\tCaf\xe9\t1.299,00\n", ("cp1252", "\t", ",")),
    ("sku\tname\n".encode("utf-16-be"), ("utf-16-be", "\t", ".")),
    (b"sku,name,unit_cost,current_price\nR1,a,4,12,,,extra\nR2,b\n", ("utf-8", ",", ".")),  # ragged: Sniffer fails
    (b'sku;price\nA;"1,299.00"\n', ("utf-8", ";", ".")),
])
def test_dialects_are_sniffed(text, dialect):
    found = sniff(text, complete=True)
    assert (found.encoding, found.delimiter, found.decimal) == dialect


def test_explicit_mapping_in_the_cli(tmp_path):
    products = tmp_path / "meine_artikel.csv"
    products.write_text("Artikel;Bezeichnung;EK;VK\nT-1;Teekanne;8,40;29,90\nT-2;Tasse;1,90;6,50\n", encoding="utf-8")
    history = tmp_path / "verkauf.csv"
    history.write_text("Artikel;Woche;Preis;Menge\nT-1;1;29,90;12\nT-1;2;27,90;15\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    r = runner.invoke(app, ["score", str(products), str(history), "-o", str(out), "--policy", "ts", "--no-progress",
                            "--columns", "sku=Artikel,name=Bezeichnung,unit_cost=EK,current_price=VK,"
                                         "history.sku=Artikel,history.period=Woche,history.price=Preis,"
                                         "history.units=Menge"])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert table["sku"].tolist() == ["T-1", "T-2"] and (table["error"] == "").all()
    assert table["current_price"].tolist() == ["29.9", "6.5"]
    r = runner.invoke(app, ["recommend", "--sku", "T-1", "--policy", "cost_plus", "--products", str(products),
                            "--history", str(history), "--columns", "sku=Artikel,unit_cost=EK,current_price=VK,"
                            "history.sku=Artikel,history.period=Woche,history.price=Preis,history.units=Menge"])
    assert r.exit_code == 0 and "Recommended price:" in r.output, r.output
    # without the mapping: one line naming what it found, what it needs and how to map it
    r = runner.invoke(app, ["score", str(products), "-o", str(out), "--policy", "ts"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    for words in ("missing required columns 'sku', 'unit_cost', 'current_price'", "found 'Artikel', 'Bezeichnung'",
                  "needs sku, unit_cost, current_price", '--columns "sku=<your column>"'):
        assert words in r.output, r.output
    r = runner.invoke(app, ["score", str(products), "-o", str(out), "--policy", "ts", "--columns", "sku=Art.-Nr."])
    assert r.exit_code == 2 and "'Art.-Nr.' is not a column of this file (its columns: 'Artikel'" in r.output


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(policy_name="ts"))


def test_api_reads_shop_exports_and_mappings(client, caplog):
    files = {"products": (SHOPIFY_PRODUCTS.name, SHOPIFY_PRODUCTS.read_bytes(), "text/csv"),
             "history": (SHOPIFY_ORDERS.name, SHOPIFY_ORDERS.read_bytes(), "text/csv")}
    r = client.post("/v1/score/files", files=files)
    assert r.status_code == 200, r.text
    assert [row["sku"] for row in r.json()["results"]] == ["MUG-BLUE", "MUG-GREEN", "CANDLE-LAV"]
    assert r.json()["summary"]["errors"] == 0
    own = b"Art;EK;VK\nT-1;8,40;29,90\n"
    mapping = "sku=Art,unit_cost=EK,current_price=VK"
    for path, extra in (("/v1/score/files", {"data": {"columns": mapping}}),
                        ("/v1/score", {"data": {"columns": mapping}}),
                        ("/v1/score/files", {"params": {"columns": mapping}})):
        r = client.post(path, files={"products": ("mine.csv", own, "text/csv")}, **extra)
        assert r.status_code == 200, (path, r.text)
        assert r.json()["results"][0]["current_price"] == 29.9 and not r.json()["results"][0]["error"]
    rows = {"products": [{"Art": "T-1", "EK": "8,40", "VK": "29,90"}]}
    for path in ("/v1/score/rows", "/v1/score"):
        r = client.post(path, json=rows, params={"columns": mapping})
        assert r.status_code == 200 and r.json()["results"][0]["current_price"] == 29.9, r.text
    with caplog.at_level(logging.WARNING, logger="agent.api"):
        r = client.post("/v1/score/files", files={"products": ("mine.csv", own, "text/csv")},
                        data={"columns": "sku=Artikelnummer"})
    assert r.status_code == 422 and "'Artikelnummer' is not a column of this file" in r.json()["message"]
    [record] = [rec for rec in caplog.records if rec.name == "agent.api"]
    assert record.getMessage().startswith("422 POST /v1/score/files: ") and record.exc_info is None
    r = client.post("/v1/score/files", files={"products": ("mine.csv", own, "text/csv")})
    assert r.status_code == 422 and "found 'Art', 'EK', 'VK'" in r.json()["message"] and "/tmp" not in r.text
    r = client.post("/v1/score/rows", json=rows, params={"columns": "sku=Art,price_later=VK"})
    assert r.status_code == 422 and "'price_later' is not a catalog column" in r.json()["message"]


def test_ambiguous_and_wrong_mappings_are_clear_errors(tmp_path):
    both = pd.read_csv(SHOPIFY_PRODUCTS, dtype=str).assign(**{"seller-sku": "X", "item-name": "y"})
    with pytest.raises(CatalogError, match="more than one shop export: a Shopify product export .*an Amazon "
                                           "listings report .*column mapping"):
        contexts_for(both)
    # naming the columns settles it: the merchant's mapping wins over any guess
    mapping = "sku=Variant SKU,unit_cost=Cost per item,current_price=Variant Price"
    items = contexts_for(both.dropna(subset=["Variant SKU"]), mapping=mapping)
    assert [(s, c.product.current_price) for s, c, _ in items] == [("MUG-BLUE", 14.0), ("MUG-GREEN", 14.0),
                                                                    ("CANDLE-LAV", 22.0)]
    # a partial match (no cost column) does not invent one: it says what the platform calls it
    with pytest.raises(CatalogError, match="missing required column 'unit_cost' \\(read as a Shopify product "
                                           "export, which writes unit_cost as 'Cost per item'"):
        contexts_for(pd.read_csv(SHOPIFY_PRODUCTS, dtype=str).drop(columns="Cost per item"))
    # one signature column is no platform: the ordinary names are read
    assert contexts_for(pd.DataFrame({"sku": ["A"], "Cost per item": ["2"], "price": ["5"]}))[0][1] is not None
    for text, words in (("sku=Handle,unit_cost=Handle", "mapped to two catalog columns"),
                        ("sku=Handle,sku=Title", "'sku' is mapped twice"),
                        ("history.unit_cost=Cost", "'history.unit_cost' is not a history column"),
                        ("sku", "'sku' maps nothing")):
        with pytest.raises(CatalogError, match=words):
            contexts_for(pd.read_csv(SHOPIFY_PRODUCTS, dtype=str), mapping=ColumnMap.parse(text))
    with pytest.raises(CatalogError, match="^column mapping sku=Lineitem SKU: 'Lineitem SKU' is not a column"):
        read_upload(SHOPIFY_PRODUCTS.read_bytes(), "products.csv", mapping={"sku": "Lineitem SKU"})



def test_etsy_listings_read_stock_as_inventory_and_ask_for_the_cost(tmp_path):
    etsy = Path(__file__).resolve().parents[1] / "data" / "merchant_files" / "EtsyListingsDownload.csv"
    assert table_plan(etsy).platform.key == "etsy_listings"
    with pytest.raises(CatalogError, match="missing required column 'unit_cost'.*found 'sku', 'name', 'current_price'"):
        contexts_for(read_table(etsy))
    with_cost = tmp_path / "etsy_with_cost.csv"
    with_cost.write_text(etsy.read_text().replace(",SKU\n", ",SKU,Cost\n").replace("MUG-ST-01\n", "MUG-ST-01,9.40\n")
                         .replace("CANDLE-BW-2\n", "CANDLE-BW-2,5.10\n"))
    # QUANTITY is what is in stock (inventory), never units sold
    assert _facts(read_table(with_cost)) == {"MUG-ST-01": (9.4, 28.0, 12.0, []), "CANDLE-BW-2": (5.1, 16.5, 40.0, [])}

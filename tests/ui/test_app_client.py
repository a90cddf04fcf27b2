"""The served app through `gradio_client` and the API on the same port: what a script would see."""

import shutil

import httpx
import pandas as pd
import pytest
from gradio_client import Client, handle_file

from agent.demo_catalog import demo_catalog_paths
from tests.ui.conftest import live_server

MUG = ("I sell a ceramic mug, it costs me $4, I sold 120 at $12 last week and 90 at $14 this week, "
       "my competitor is at $13.50 — what should I charge?")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def url():
    with live_server(policy_name="evidence") as base:
        yield base


@pytest.fixture
def client(url):
    return Client(url, verbose=False)


def text_of(messages) -> str:
    parts = []
    for m in messages:
        for c in m["content"] if isinstance(m["content"], list) else [m["content"]]:
            if isinstance(c, dict) and "text" in c:
                parts.append(c["text"])
            elif isinstance(c, str):
                parts.append(c)
    return "\n".join(parts)


def test_chat_recommends_the_api_price_and_follows_up(client, url):
    _, chat, name, cost, price_now, competitor, *_ = client.predict(MUG, api_name="/chat")
    assert (name, cost, price_now, competitor) == ("ceramic mug", 4.0, 14.0, 13.5)
    api = httpx.post(url + "v1/recommend", json={
        "product": {"sku": "chat-product", "name": "ceramic mug", "unit_cost": 4, "current_price": 14},
        "history": [{"period": 0, "price": 12, "units": 120},
                    {"period": 1, "price": 14, "units": 90, "competitor_price": 13.5}],
        "competitor_price": 13.5}).json()
    assert f"Recommended price: ${api['price']:,.2f}" in text_of(chat)  # one pipeline, one price
    files = [c for m in chat for c in (m["content"] if isinstance(m["content"], list) else [])
             if isinstance(c, dict) and c.get("type") == "file"]
    assert files and files[-1]["file"].endswith(".png")
    titles = {(m.get("metadata") or {}).get("title") for m in chat}
    assert {"Facts extracted", "Demand fit", "Pricing policy", "Guardrails"} <= titles

    _, follow, *_ = client.predict("what if I charge $15?", api_name="/chat")  # same session: facts remembered
    new = text_of(follow[len(chat):])
    assert "At **$15.00** the model expects" in new and f"my recommendation ${api['price']:,.2f}" in new


def test_missing_cost_gets_a_question(client):
    _, chat, *_ = client.predict("I sold 50 candles at $9 and 40 at $10", api_name="/chat")
    assert "What does one unit cost you" in text_of(chat) and "Recommended price" not in text_of(chat)


def test_demo_sku_and_form_correction(client):
    chat, name, cost, *_, sales = client.predict("YOG-0004", api_name="/load_sku")
    assert "Recommended price" in text_of(chat) and cost > 0 and len(sales["data"]) > 5
    values = [name, cost, None, None, None, None, 60.0, None]  # correct the form: a 60% margin floor
    chat2, *_ = client.predict(*values, sales, api_name="/update_facts")
    floor = cost / (1 - 0.6)
    last = text_of(chat2[len(chat):])
    price = float(last.split("Recommended price: $")[1].split("*")[0].replace(",", ""))
    assert price >= floor - 0.01


def test_uploaded_history_and_a_bad_file(client, tmp_path):
    good = tmp_path / "sales.csv"
    sales = pd.DataFrame({"week": [1, 2, 3, 4], "price": [10, 11, 12, 11], "units": [100, 92, 80, 90]})
    sales.to_csv(good, index=False)
    client.predict("they cost me $5", api_name="/chat")
    chat, *_ = client.predict(handle_file(str(good)), api_name="/upload_history")
    assert "Read 4 sales rows" in text_of(chat) and "Recommended price" in text_of(chat)
    bad = tmp_path / "oops.csv"
    bad.write_text("this,is\nnot,sales\n")
    chat2, *_ = client.predict(handle_file(str(bad)), api_name="/upload_history")
    assert "That file did not work" in text_of(chat2[len(chat):])


def test_a_chinese_conversation_stays_chinese_through_an_excel_upload(client, tmp_path):
    """The language lives in the session's state: an upload after a Chinese message answers in Chinese
    (issue 16), and the upload takes an .xlsx like the catalog does."""
    _, chat, *_ = client.predict("我卖蜡烛，成本5元，上周以10元卖了100个，这周以11元卖了92个，我该定什么价？",
                                 api_name="/chat")
    assert "建议价格" in text_of(chat) and "Recommended price" not in text_of(chat)
    path = tmp_path / "销售.xlsx"
    pd.DataFrame({"日期": ["2026-03-02", "2026-03-09", "2026-03-16"], "price": [10, 11, 12],
                  "units": [100, 92, 80]}).to_excel(path, index=False)
    after, *_ = client.predict(handle_file(str(path)), api_name="/upload_history")
    new = text_of(after[len(chat):])
    assert "从上传的文件中读到 3 条销售记录" in new and "建议价格" in new


def test_score_catalog_upload_and_download(client, tmp_path):
    products, history = demo_catalog_paths()
    table, histogram, download, summary = client.predict(handle_file(str(products)), handle_file(str(history)),
                                                         api_name="/score_catalog")
    assert "Scored 50 of 50 SKUs" in summary
    assert len(table["data"]) == 50 and "recommended_price" in table["headers"]
    assert histogram.endswith(".png")
    scored = pd.read_csv(shutil.copy(download, tmp_path / "out.csv"))
    assert scored["sku"].tolist() == pd.read_csv(products)["sku"].tolist()
    assert (scored["recommended_price"] > 0).all()


def test_score_catalog_shows_row_errors_without_failing(client, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text("sku,name,unit_cost,current_price\nA,ok,2,5\nB,bad cost,-1,5\nC,=HYPERLINK(\"x\"),2,nope\n")
    table, _, download, summary = client.predict(handle_file(str(path)), None, api_name="/score_catalog")
    assert "Scored 1 of 3 SKUs" in summary and "2 rows with errors" in summary
    assert "`B`" in summary and "`C`" in summary
    assert "'=HYPERLINK" in open(download).read()  # formulas neutralised in the CSV download


def test_unreadable_catalog_is_a_clear_error(client, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("just,some\nwords,here\n")
    with pytest.raises(Exception, match="sku|unit_cost|column"):
        client.predict(handle_file(str(path)), None, api_name="/score_catalog")


def test_simulator_runs_policies_side_by_side(client):
    header, table, chart = client.predict("seasonal_perishable", 0, 0, ["evidence", "ts", "oracle"],
                                          api_name="/simulate")
    rows = {r[0]: r for r in table["data"]}
    assert set(rows) == {"evidence", "ts", "oracle"}
    assert rows["oracle"][1] == pytest.approx(100.0)
    assert all(r[1] <= 100.0 + 1e-6 for r in rows.values())
    assert "seasonal_perishable" in header and chart.endswith(".png")


def test_api_and_page_share_one_port(url):
    assert httpx.get(url + "healthz").json()["policy"] == "evidence"
    assert httpx.get(url + "docs").status_code == 200
    assert "Pricing assistant" in httpx.get(url).text

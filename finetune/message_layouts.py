"""Layouts of the second train family of merchant messages (`finetune.message_data`, issue 16).

The first train family wrote every message as one line of clauses. Merchants also paste: sales as one line per
period ("wk2: 95 @ $14"), a small table copied from a spreadsheet (a header, then a row per period, with
commas, tabs or pipes between columns), facts as a list of "Cost: ..." lines. A reader that saw only sentences
misread these (rows dropped, a price read as a count), so the train family gets them too. Held-out messages
never use these layouts: the held-out family stays what it was, and the blind sets of `bench/data/` (written by
someone who never read this module) measure whether the layouts generalise.

Sales are written in time order, oldest first, with time labels that say so (dates and weeks counting up);
a table's columns come in any order, and the header says which column is which. Product names here are
train-only too (`MORE_NAMES`).
"""

from __future__ import annotations

import datetime
import random

MORE_NAMES = {
    "en": ["soy candles", "enamel pins", "linen aprons", "hot sauce", "dog treats", "beeswax wraps", "tote bags",
           "sourdough bread", "knitted beanies", "resin earrings", "vinyl stickers", "cold brew", "bath bombs",
           "wall art prints", "leather belts", "plant pots", "phone chargers", "baby bibs", "tea towels",
           "greeting cards", "silver rings", "wooden toys", "protein bars", "face masks", "lip balm",
           "board games", "bike lights", "coffee beans", "photo frames", "dried flowers"],
    "zh": ["蓝牙耳机", "辣椒酱", "茶叶礼盒", "多肉植物", "腊肠", "坚果礼盒", "儿童绘本", "数据线", "面膜", "口红",
           "手工饺子", "蜂蜜", "果酱", "帆布包", "发夹", "拖鞋", "雨伞", "充电宝", "毛巾", "花茶", "牛肉干", "香皂",
           "宠物零食", "钥匙扣", "明信片", "抱枕", "保鲜盒", "袜子", "耳环", "小夜灯"],
}

_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAYS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_DAYS_ZH = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


def time_labels(lang: str, n: int, rng: random.Random) -> list[str]:
    """`n` labels of consecutive periods, oldest first, in one style a merchant would use."""
    start = datetime.date(2026, rng.randint(1, 9), rng.randint(1, 20))
    weekly = [start + datetime.timedelta(days=7 * k) for k in range(n)]
    month0 = rng.randrange(12 - n + 1)
    day0 = rng.randrange(7 - n + 1) if n <= 7 else 0
    if lang == "en":
        styles = [[f"wk{k + 1}" for k in range(n)], [f"Week {k + 1}" for k in range(n)],
                  [d.isoformat() for d in weekly], [f"{_MONTHS_EN[d.month - 1]} {d.day}" for d in weekly],
                  [f"{d.month}/{d.day}" for d in weekly], _MONTHS_EN[month0:month0 + n], _DAYS_EN[day0:day0 + n]]
    else:
        styles = [[f"{d.month}月{d.day}日" for d in weekly], [f"{m + 1}月" for m in range(month0, month0 + n)],
                  _DAYS_ZH[day0:day0 + n], [f"{d.month}/{d.day}" for d in weekly], [d.isoformat() for d in weekly]]
    return rng.choice(styles)


_LINES = {
    "en": ["{when}: {u} {item} @ {p}", "{when} {u} @ {p}", "{when}: {u} sold at {p}", "{when} - {p}, {u} sold",
           "{u} @ {p} ({when})", "{when}: price {p}, {u} {item}"],
    "zh": ["{when} 卖了{u}{item} 价格{p}", "{when}：销量{u}，价格{p}", "{when} {u}{item}@{p}",
           "{when} 售价{p} 卖出{u}{item}", "{when}：{p}，出了{u}{item}"],
}
_LINE_HEADS = {"en": ["", "", "sales:", "Sales history:", "my numbers:", "last few weeks:"],
               "zh": ["", "", "销量：", "最近的销售：", "销售记录："]}
_BULLETS = ["", "", "- ", "• ", "* "]
_TABLE_HEADS = {
    "en": {"when": ["week", "date", "Week", "Date", "period", "month"],
           "units": ["units", "qty", "sold", "Units", "orders"],
           "price": ["price", "Price", "unit price", "avg price"]},
    "zh": {"when": ["日期", "周", "月份", "时间"], "units": ["销量", "数量", "卖出", "件数"],
           "price": ["价格", "单价", "售价"]},
}
_SEPARATORS = [", ", " | ", "\t", " ", "  "]  # not a bare ",": the chat reads "65,3259" as one number


def sales_block(lang: str, rows: list[tuple[str, str]], items: list[str], rng: random.Random) -> str:
    """Sales rows (units text, price text), oldest first, pasted as lines or as a table (text of several lines)."""
    labels = time_labels(lang, len(rows), rng)
    if rng.random() < 0.5:
        bullet = rng.choice(_BULLETS)
        template = rng.choice(_LINES[lang])
        item = rng.choice(items)
        lines = [bullet + template.format(when=w, u=u, p=p, item=item) for w, (u, p) in zip(labels, rows, strict=True)]
        head = rng.choice(_LINE_HEADS[lang])
        return "\n".join(([head] if head else []) + lines)
    columns = ["when", "units", "price"]
    if rng.random() < 0.2:
        columns.remove("when")
    rng.shuffle(columns)
    sep = rng.choice(_SEPARATORS)
    if sep == ", " and any("," in u + p for u, p in rows):  # "1,150, 12,50" reads as other numbers
        sep = " | "
    heads = {c: rng.choice(_TABLE_HEADS[lang][c]) for c in columns}
    out = [sep.join(heads[c] for c in columns)]
    for w, (u, p) in zip(labels, rows, strict=True):
        cell = {"when": w, "units": u, "price": p}
        out.append(sep.join(cell[c] for c in columns))
    return "\n".join(out)

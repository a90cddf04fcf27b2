"""The chat reads merchants' own words: each phrasing family in English and Chinese, the issue-16 failures,
and the rule that every number it reads appears in the message."""

import pytest

from finetune.message_data import build_messages
from ui.facts import MerchantFacts, read_message
from ui.message import Extraction, extract, ground, grounded, numbers_in

# (language, family, message, what must be read); fields not named must stay unread
CASES = [
    ("en", "cost", "costs me about 6.50 to make", {"unit_cost": 6.5}),
    ("en", "cost thousands", "costs us $1,150", {"unit_cost": 1150.0}),
    ("en", "cost euro", "my unit cost is 1.150,00 €", {"unit_cost": 1150.0}),
    ("en", "cost pound", "they cost me £3.20 each", {"unit_cost": 3.2}),
    ("en", "cost range", "COGS is $6-7", {"unit_cost": 6.5}),
    ("en", "sales", "I sold 120 at €12,50 last week and 90 at €14 this week",
     {"sales": [(120.0, 12.5), (90.0, 14.0)]}),
    ("en", "sales newest first", "this week 90 units at $14, last week I sold 120 at $12",
     {"sales": [(120.0, 12.0), (90.0, 14.0)]}),
    ("en", "sales with dates", "on 2 March I sold 1,200 pcs for USD 9.99, on 9 March 800 @ USD 10.49",
     {"sales": [(1200.0, 9.99), (800.0, 10.49)]}),
    ("en", "competitor", "my competitor charges EUR 13,50", {"competitor_price": 13.5}),
    ("en", "current", "right now it's 19.99 GBP", {"current_price": 19.99}),
    ("en", "min price", "never go below ¥88", {"min_price": 88.0}),
    ("en", "max price", "max price is RMB 1,200", {"max_price": 1200.0}),
    ("en", "margin", "set my floor margin to 30 percent", {"min_margin": 0.3}),
    ("en", "max change", "max change 10 %", {"max_change": 0.1}),
    ("en", "name", "I sell scented candles", {"name": "scented candles"}),
    ("en", "question price", "what price do you recommend?", {"question": "price"}),
    ("en", "question what-if", "what if I charge €15?", {"question": "what_if", "what_if": 15.0}),
    ("en", "question why lower", "why not go lower?", {"question": "why_lower"}),
    ("en", "question why higher", "why not charge more?", {"question": "why_higher"}),
    ("en", "question elasticity", "how sensitive are my customers to price?", {"question": "elasticity"}),
    ("en", "question reset", "start over", {"question": "reset"}),
    ("en", "cost written after", "it's $5.20 to make one", {"unit_cost": 5.2}),
    ("en", "sales price first", "last week I charged $12 and sold 80, this week price $13, sold 70",
     {"sales": [(80.0, 12.0), (70.0, 13.0)]}),
    ("en", "sales at a price of", "in March I sold 58 at a price of €46.99", {"sales": [(58.0, 46.99)]}),
    ("en", "current, I'm at", "I'm at $9.99 right now", {"current_price": 9.99}),
    ("en", "competitor, going rate", "the going rate elsewhere is £1,025", {"competitor_price": 1025.0}),
    ("en", "margin written after", "hold a 20% minimum margin", {"min_margin": 0.2}),
    ("en", "margin and change", "don't change the price by more than 25% and minimum margin 15%",
     {"max_change": 0.25, "min_margin": 0.15}),
    ("en", "question what-happens", "what happens at $15?", {"question": "what_if", "what_if": 15.0}),
    ("zh", "sales sold then unit price", "上周卖出90件，单价14元", {"sales": [(90.0, 14.0)]}),
    ("zh", "sales price then sold", "这周价格是13元，卖了35个", {"sales": [(35.0, 13.0)]}),
    ("zh", "competitor same item", "市场上同款卖13元", {"competitor_price": 13.0}),
    ("zh", "question what-if after", "卖15元会怎样？", {"question": "what_if", "what_if": 15.0}),
    ("en", "name, I've got", "I've got a leather wallet, costs me $40", {"name": "leather wallet", "unit_cost": 40.0}),
    ("en", "not a name", "I've got a question: what price should I set?", {"question": "price"}),
    ("en", "cost paid", "I paid $4.10 for each one", {"unit_cost": 4.1}),
    ("en", "ad spend is not a cost", "I spend $200 on ads every week", {}),
    ("en", "a campaign is not a cost", "I paid $300 for the campaign", {}),
    ("en", "a quantity is not a cap", "we can make max 500 a month", {}),
    ("en", "cap, written short", "max $30", {"max_price": 30.0}),
    ("en", "current retail price", "retail price is $12.99", {"current_price": 12.99}),
    ("en", "competitor market price", "the market price is around $13", {"competitor_price": 13.0}),
    ("zh", "cost wholesale", "批发价5.5元", {"unit_cost": 5.5}),
    ("zh", "current retail", "零售价19.9元", {"current_price": 19.9}),
    ("zh", "competitor market price", "市场价18元", {"competitor_price": 18.0}),
    ("zh", "cost", "进价大约6.5元", {"unit_cost": 6.5}),
    ("zh", "cost thousands", "成本价：¥1,150", {"unit_cost": 1150.0}),
    ("zh", "sales", "上周卖了120件，售价12元；这周以14元卖出90个", {"sales": [(120.0, 12.0), (90.0, 14.0)]}),
    ("zh", "sales price first", "3月2日12块的价格卖了40件，3月9日价格13块，销量35",
     {"sales": [(40.0, 12.0), (35.0, 13.0)]}),
    ("zh", "competitor", "竞争对手卖13.5元", {"competitor_price": 13.5}),
    ("zh", "current", "目前售价RMB 99", {"current_price": 99.0}),
    ("zh", "min price", "地板价10元", {"min_price": 10.0}),
    ("zh", "max price", "价格上限２０元", {"max_price": 20.0}),
    ("zh", "margin", "最低利润率30％", {"min_margin": 0.3}),
    ("zh", "max change", "每次调价不超过百分之15", {"max_change": 0.15}),
    ("zh", "name", "我卖陶瓷杯，", {"name": "陶瓷杯"}),
    ("zh", "question price", "我应该定什么价？", {"question": "price"}),
    ("zh", "question what-if", "如果我卖15元呢？", {"question": "what_if", "what_if": 15.0}),
    ("zh", "question why lower", "为什么不降价？", {"question": "why_lower"}),
    ("zh", "question why higher", "为什么不涨价？", {"question": "why_higher"}),
    ("zh", "question elasticity", "顾客对价格有多敏感？", {"question": "elasticity"}),
    ("zh", "question reset", "重新开始", {"question": "reset"}),
    # the second train family's wordings (finetune.message_phrases.MORE_TRAIN)
    ("en", "current, selling them at", "I'm selling them at $18", {"current_price": 18.0}),
    ("en", "current, I sell the product for", "I sell handmade soap for 6,50 €",
     {"name": "handmade soap", "current_price": 6.5}),
    ("en", "current, asking", "asking £34", {"current_price": 34.0}),
    ("en", "current written after", "€61.99 is what I charge", {"current_price": 61.99}),
    ("en", "a sale is not the current price", "I sell 120 at $5 a week", {"sales": [(120.0, 5.0)]}),
    ("en", "a rival's selling is not mine", "similar listings go for €24,66", {"competitor_price": 24.66}),
    ("en", "a competitor selling at", "competitor is selling at 17", {"competitor_price": 17.0}),
    ("en", "not across 'and' into another seller", "I sell wooden toys and my competitor is at EUR 108",
     {"name": "wooden toys", "competitor_price": 108.0}),
    ("en", "cost in materials", "$44 in materials per piece", {"unit_cost": 44.0}),
    ("en", "cost, supplier", "supplier charges me $3.10", {"unit_cost": 3.1}),
    ("en", "competitor, big brands", "the big brands charge $45", {"competitor_price": 45.0}),
    ("en", "floor and ceiling", "floor €15 and ceiling €30", {"min_price": 15.0, "max_price": 30.0}),
    ("en", "a floor margin is not a floor price", "floor margin 30%", {"min_margin": 0.3}),
    ("en", "what-if, would happen at", "what would happen to profit at 1,250?",
     {"question": "what_if", "what_if": 1250.0}),
    ("en", "question, too high", "too high?", {"question": "price"}),
    ("en", "question, demand drop", "how much would demand drop if I raise the price?", {"question": "elasticity"}),
    ("en", "reset, another product", "let's do another product", {"question": "reset"}),
    ("en", "sales told newest first", "newest first: 15 @ $8, 22 @ $8, 9 @ $10",
     {"sales": [(9.0, 10.0), (22.0, 8.0), (15.0, 8.0)]}),
    ("en", "pounds as quid", "I'm charging 8 quid", {"current_price": 8.0}),
    ("zh", "cost, 进货价", "我进货价是40", {"unit_cost": 40.0}),
    ("zh", "sales, price then 出了", "上月卖60元出了200件，本月卖65元出了170件",
     {"sales": [(200.0, 60.0), (170.0, 65.0)]}),
    ("zh", "floor and ceiling", "最低50元，最高80元", {"min_price": 50.0, "max_price": 80.0}),
    ("zh", "sales, units @ price", "周一 15件@35，周二 18件@32", {"sales": [(15.0, 35.0), (18.0, 32.0)]}),
    ("zh", "sales, price in brackets, days", "今天卖了12件（24元），昨天卖了9件（26元），前天卖了7件（28元）",
     {"sales": [(7.0, 28.0), (9.0, 26.0), (12.0, 24.0)]}),
    ("zh", "sales, units then price, weeks back", "这周出了80瓶，卖35；上周出了95瓶，卖32；再上周110瓶，卖29",
     {"sales": [(110.0, 29.0), (95.0, 32.0), (80.0, 35.0)]}),
    ("en", "a month and its year", "Feb 2026: 61 units at $54, Mar 2026: 47 units at $59",
     {"sales": [(61.0, 54.0), (47.0, 59.0)]}),
    ("zh", "margin, 毛利", "毛利至少35%", {"min_margin": 0.35}),
    ("zh", "competitor, 同类", "拼多多同类12.8元", {"competitor_price": 12.8}),
    ("zh", "question, 合适吗", "这个价格合适吗？", {"question": "price"}),
    ("zh", "what-if, 涨到", "涨到69会怎样？", {"question": "what_if", "what_if": 69.0}),
    ("zh", "why higher, 为啥", "为啥不卖贵一点", {"question": "why_higher"}),
    ("zh", "name, 我家", "我家辣椒酱，成本6元", {"name": "辣椒酱", "unit_cost": 6.0}),
]


@pytest.mark.parametrize(("language", "family", "message", "expected"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_phrasing_family_in_each_language(language, family, message, expected):
    ex = extract(message)
    assert ex.language == language
    read = {k: v for k, v in vars(ex).items() if k not in ("language", "dropped") and v not in (None, [])}
    assert read == expected, family
    assert not ex.dropped


def test_a_whole_chinese_message_prices_without_asking_again():
    reading = read_message("我卖陶瓷杯，成本5元，上周卖了120件，售价12元，这周以14元卖出90个，竞争对手卖13.5元，"
                           "我应该定什么价？", MerchantFacts())
    facts = reading.facts
    assert reading.language == "zh" and reading.question == "price"
    assert facts.name == "陶瓷杯" and facts.unit_cost == 5.0 and facts.competitor_price == 13.5
    assert [(s.units, s.price) for s in facts.sales] == [(120.0, 12.0), (90.0, 14.0)]
    assert not facts.missing()
    facts.context()


def test_euro_message_with_decimal_commas_becomes_a_context():
    facts = read_message("I sell a wool scarf, it costs me 14,50 €, I sold 1.200 at 29,90 € in March and 950 at "
                         "32,00 € in April", MerchantFacts()).facts
    assert facts.unit_cost == 14.5
    assert [(s.units, s.price) for s in facts.sales] == [(1200.0, 29.9), (950.0, 32.0)]


def test_the_elasticity_question_is_a_question_not_new_facts():
    base = read_message("it costs me $4, I sold 120 at $12 last week and 90 at $14 this week", MerchantFacts()).facts
    reading = read_message("how sensitive are my customers to price?", base)
    assert reading.question == "elasticity" and not reading.changed and reading.facts == base
    assert not reading.facts.missing()  # nothing to ask: the facts are complete


def test_dates_and_times_are_not_amounts():
    ex = extract("the week of 2026-03-02 I sold 40 at $9, the week of 2026-03-09 I sold 35 at $10")
    assert ex.sales == [(40.0, 9.0), (35.0, 10.0)] and ex.unit_cost is None
    ex = extract("3月卖了40件，售价9元")
    assert ex.sales == [(40.0, 9.0)]


def test_a_number_not_in_the_message_is_dropped():
    text = "cost 6.50, sold 120 at 12, margin 30%, the rival is at 12-14"
    invented = Extraction(unit_cost=7.0, sales=[(120.0, 12.0), (99.0, 13.0)], min_margin=0.3, max_change=0.25,
                          competitor_price=13.0, what_if=11.0, question="what_if")
    kept = ground(invented, text)
    assert kept.unit_cost is None and kept.max_change is None and kept.what_if is None and kept.question is None
    assert kept.sales == [(120.0, 12.0)]
    assert kept.min_margin == 0.3 and kept.competitor_price == 13.0  # 30% and the range's midpoint are there
    assert set(kept.dropped) == {"unit_cost", "max_change", "what_if", "sales"}


def test_every_number_read_appears_in_its_message():
    for rec in build_messages(n_train=150, n_heldout=150, seed=4):
        reading = read_message(rec.message, MerchantFacts())
        f = reading.facts
        numbers = numbers_in(rec.message)
        values = [v for v in (f.unit_cost, f.current_price, f.competitor_price, f.min_price, f.max_price,
                              reading.what_if) if v is not None]
        values += [v for s in f.sales for v in (s.units, s.price)]
        assert all(grounded(v, numbers) for v in values), rec.message
        assert all(grounded(v, numbers, fraction=True) for v in (f.min_margin, f.max_change) if v is not None)


def test_long_and_repetitive_messages_are_read_in_part_not_crashed_on():
    for text in ("cost " + "last week " * 300 + "$5", "margin " + "5% " * 1300, "1-" * 2000, "卖了" * 2000):
        extract(text[:4000])  # the chat reads at most 4000 characters
    assert len(extract(("sold 12 at 3 last week, " * 200)[:4000]).sales) == 167

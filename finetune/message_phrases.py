"""The wordings of `finetune.message_data`: every phrasing of every field, in English and Chinese, each in
exactly one family, train or held-out (see that module).

PHRASES[language][slot] = (train phrasings, held-out phrasings). Placeholders: {name} (with its article in
English), {cost} and {p} amounts, {u} a count, {item} what is counted, {when} a time, {pct} a percentage.
A phrasing's id is "<language>.<slot>.<t|h><index>" (`message_data.phrase_ids`).
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "en": {
        "greeting": (
            ["Hi!", "Hello,", "Hey there.", "Quick question:", "Hey,", "Hi there,", "Need advice.",
             "A pricing question:", "Thanks in advance!", "Hello again,"],
            ["Good morning!", "Hope you can help.", "Hi team,"]),
        "name": (
            ["I sell {name}", "my product is {name}", "selling {name}", "product: {name}", "I'm selling {name}",
             "we sell {name}", "the item is {name}", "I've got {name}", "I run a store selling {name}",
             "my listing is for {name}", "the product: {name}"],
            ["we make {name}", "this is about our {name}", "our shop carries {name}"]),
        "cost": (
            ["it costs me {cost}", "costs me about {cost} to make", "costs us {cost}", "my unit cost is {cost}",
             "each one costs me {cost}", "I pay {cost} per unit", "COGS is {cost}", "cost: {cost}",
             "unit cost {cost}", "they cost me {cost} each", "my cost is {cost}", "it costs {cost} to produce",
             "making one costs {cost}", "cost per unit: {cost}", "I spend {cost} per item",
             "my COGS is {cost} per unit", "it costs me {cost} a unit", "cost price {cost}",
             "each unit costs {cost}", "manufacturing cost is {cost}", "I pay my supplier {cost} each",
             "the cost to me is {cost}", "my cost comes to {cost}", "cost of goods {cost}",
             "it's {cost} to make one"],
            ["I buy them in at {cost} each", "my cost per piece is {cost}", "production cost runs {cost}",
             "the wholesale price I pay is {cost}", "they set me back {cost} apiece", "landed cost {cost}"]),
        "sale": (
            ["I sold {u} at {p} {when}", "{u} units at {p} {when}", "{when} {u} sold for {p} each",
             "sold {u} {item} at {p} {when}", "{u} @ {p} {when}", "{when} I sold {u} {item} for {p}",
             "{u} {item} for {p} {when}", "{when} I sold {u} at a price of {p}", "{when} {u} sold at {p}",
             "{when}, {u} {item} at {p}", "{when} price {p}, sold {u}", "{when} I charged {p} and sold {u}",
             "{u} {item} sold at {p} {when}", "{when} sales were {u} at {p}", "{when}: {u} sold @ {p}",
             "{when} I had {u} sales at {p}", "{when} {u} {item} went for {p} each",
             "{when} it was {p} and I sold {u} {item}"],
            ["{when} I moved {u} pieces priced at {p}", "at {p} I sold {u} {when}", "{when}: {u} orders, price {p}",
             "we shifted {u} units at {p} apiece {when}", "{when} the price was {p} and {u} went out the door"]),
        "competitor": (
            ["my competitor is at {p}", "competitor's price is {p}", "the competitor sells it for {p}",
             "competitors charge {p}", "my competitor charges {p}", "competitor price {p}",
             "the competition charges {p}", "a competitor sells it at {p}", "my main competitor is at {p}",
             "competing sellers charge {p}", "my competitor's price: {p}", "competitor is selling at {p}",
             "the market leader charges {p}", "a similar seller prices it at {p}", "similar listings go for {p}",
             "the going rate elsewhere is {p}", "the brand next to mine sells for {p}"],
            ["the shop down the street asks {p}", "a rival lists it at {p}", "Amazon has it for {p}",
             "others sell the same thing for {p}"]),
        "current": (
            ["I currently charge {p}", "right now it's {p}", "current price is {p}", "I sell it for {p} now",
             "today I charge {p}", "my price is {p}", "I'm selling at {p}", "it sells for {p} at the moment",
             "the current price: {p}", "at the moment I charge {p}", "I'm at {p} right now",
             "we charge {p} currently", "my current price is {p}", "price now {p}", "I have it at {p}"],
            ["it's listed at {p} today", "my shelf price is {p}", "the tag says {p}"]),
        "min_margin": (
            ["set my floor margin to {pct}", "minimum margin {pct}", "keep a margin floor of {pct}",
             "min margin is {pct}", "keep margins above {pct}", "margin floor {pct}",
             "my margin must stay over {pct}", "the margin can't go below {pct}", "hold a {pct} minimum margin"],
            ["I need at least {pct} margin", "don't let the margin drop under {pct}"]),
        "min_price": (
            ["never go below {p}", "minimum price {p}", "price floor {p}", "not below {p}",
             "the price floor is {p}", "keep it above {p}", "no lower than {p}", "floor at {p}",
             "the price must stay above {p}", "never below {p}"],
            ["don't price it under {p}", "the lowest I'll go is {p}"]),
        "max_price": (
            ["never go above {p}", "max price is {p}", "maximum price {p}", "not above {p}", "no higher than {p}",
             "the ceiling is {p}", "never more than {p}", "max {p}", "the price must stay below {p}"],
            ["don't charge more than {p}", "cap the price at {p}"]),
        "max_change": (
            ["max change {pct}", "change at most {pct}", "maximum change {pct} per week",
             "don't change the price by more than {pct}", "change by {pct} max", "moves of at most {pct}",
             "price changes capped at {pct}", "no more than {pct} change per week"],
            ["limit each change to {pct}", "no swings bigger than {pct}"]),
        "q_price": (
            ["what should I charge?", "what price do you recommend?", "what's the best price?",
             "what price should I set?", "what price is best?", "what should the price be?", "recommend a price",
             "what's the optimal price?", "what price maximizes profit?", "what do you suggest I charge?",
             "how much should I charge?", "give me a price"],
            ["where should I set it?", "help me pick a price.", "what would you price it at?"]),
        "q_what_if": (
            ["what if I charge {p}?", "how about {p}?", "what about {p}?", "what if I go to {p}?",
             "what happens at {p}?", "and if I charge {p}?", "what if the price is {p}?",
             "what if I set it to {p}?", "what if I raise it to {p}?", "what if I drop it to {p}?"],
            ["suppose I try {p}, then what?", "and at {p}?", "would {p} work?"]),
        "q_why_lower": (
            ["why not lower?", "why not cheaper?", "why not go lower?", "why not a lower price?",
             "why not cut the price?", "why not cheaper than that?"],
            ["wouldn't a lower price sell more?", "can't I go cheaper?"]),
        "q_why_higher": (
            ["why not higher?", "why not charge more?", "why not go higher?", "why not a higher price?",
             "why not raise the price?", "why not more expensive?"],
            ["shouldn't I charge more?", "why don't I go up?"]),
        "q_elasticity": (
            ["how sensitive are my customers to price?", "what's the elasticity?", "how price sensitive is demand?",
             "what is the price elasticity?", "how elastic is demand?", "what's my price elasticity?",
             "how responsive are sales to price?", "tell me the elasticity"],
            ["how much does demand react to price?", "are my buyers price-conscious?"]),
        "q_reset": (
            ["start over", "new product", "reset please", "forget everything", "start again", "new item",
             "clear everything", "let's start fresh"],
            ["let's begin again from scratch", "scrap that, clear it all", "wipe the slate clean"]),
    },
    "zh": {
        "greeting": (
            ["你好，", "您好！", "请教一下：", "嗨，", "你好呀，", "问一下，", "打扰一下，"],
            ["早上好！", "麻烦帮我看看，"]),
        "name": (
            ["我卖{name}", "我的产品是{name}", "产品：{name}", "我在卖{name}", "产品是{name}", "我们卖{name}",
             "商品：{name}", "我的商品是{name}"],
            ["我们家做{name}", "关于我们的{name}"]),
        "cost": (
            ["成本{cost}", "进价是{cost}", "每件成本大约{cost}", "成本价：{cost}", "一个成本{cost}", "进价{cost}",
             "成本是{cost}", "每个成本{cost}", "单位成本{cost}", "我的成本是{cost}", "生产成本{cost}",
             "每件进价{cost}", "成本只有{cost}", "进价为{cost}", "单件成本{cost}"],
            ["拿货价{cost}", "每个进货要{cost}", "做一个要花{cost}", "采购价{cost}"]),
        "sale": (
            ["{when}卖了{u}件，售价{p}", "{when}以{p}卖出{u}个", "{when}{p}的价格卖了{u}件",
             "{when}价格{p}，销量{u}", "{when}卖了{u}{item}，价格{p}", "{when}售价{p}，卖了{u}件",
             "{when}卖出{u}件，单价{p}", "{when}销量{u}，售价{p}", "{when}单价{p}卖了{u}件",
             "{when}卖了{u}个，每个{p}", "{when}一共卖了{u}{item}，单价{p}", "{when}{u}{item}，价格{p}",
             "{when}价格是{p}，卖了{u}个"],
            ["{when}定价{p}时出了{u}单", "{when}卖{p}，走了{u}件", "{when}按{p}卖掉{u}个"]),
        "competitor": (
            ["竞争对手卖{p}", "竞品价格{p}", "对手定价{p}", "竞争对手的价格是{p}", "竞品卖{p}", "竞争对手定价{p}",
             "对手卖{p}", "竞争者的售价是{p}", "竞品售价{p}", "市场上同款卖{p}", "对手的价格{p}", "竞争店铺卖{p}"],
            ["隔壁店卖{p}", "同行售价{p}", "别家标价{p}"]),
        "current": (
            ["现在卖{p}", "目前售价{p}", "当前价格{p}", "现在的价格是{p}", "目前卖{p}", "当前售价{p}",
             "我现在定价{p}", "目前价格是{p}", "现在售价{p}"],
            ["现价{p}", "标价是{p}", "眼下定价{p}"]),
        "min_margin": (
            ["最低利润率{pct}", "利润率不低于{pct}", "毛利率至少{pct}", "利润率最低{pct}", "毛利率不能低于{pct}",
             "利润率至少要{pct}", "最低毛利率{pct}"],
            ["利润率别低于{pct}", "保底利润率{pct}"]),
        "min_price": (
            ["地板价{p}", "最低价{p}", "价格不要低于{p}", "最低不能低于{p}", "价格至少{p}", "最低卖{p}",
             "价格下限{p}"],
            ["底价{p}", "价格别低过{p}"]),
        "max_price": (
            ["最高价{p}", "价格不要超过{p}", "价格上限{p}", "最高不超过{p}", "价格最高{p}", "最高卖{p}"],
            ["封顶{p}", "最多卖到{p}"]),
        "max_change": (
            ["每次调价不超过{pct}", "最大变动{pct}", "每次最多调{pct}", "价格变动不超过{pct}", "一次最多变{pct}"],
            ["单次调整幅度最多{pct}", "调价幅度控制在{pct}以内"]),
        "q_price": (
            ["我应该定什么价？", "建议卖多少钱？", "最优价格是多少？", "卖多少钱合适？", "定价多少最好？",
             "给我推荐个价格。", "最佳售价是多少？", "应该卖什么价？"],
            ["怎么定价比较好？", "帮我定个价吧。"]),
        "q_what_if": (
            ["如果我卖{p}呢？", "如果定{p}会怎样？", "要是卖{p}呢？", "如果价格是{p}呢？", "卖{p}会怎样？",
             "假如定价{p}呢？", "要是涨到{p}呢？"],
            ["改成{p}会怎么样？", "试试{p}行不行？"]),
        "q_why_lower": (
            ["为什么不更低？", "为什么不降价？", "为什么不卖低一点？", "为什么不再低些？"],
            ["再便宜点不行吗？"]),
        "q_why_higher": (
            ["为什么不更高？", "为什么不涨价？", "为什么不卖高一点？", "为什么不提价？"],
            ["不能再贵一点吗？"]),
        "q_elasticity": (
            ["顾客对价格有多敏感？", "需求弹性是多少？", "价格弹性多大？", "价格敏感度怎么样？", "弹性系数是多少？",
             "需求对价格敏感吗？"],
            ["涨价会流失多少顾客？", "买家在乎价格吗？"]),
        "q_reset": (
            ["重新开始", "换个产品", "清空", "重来", "换一个产品", "清除所有"],
            ["从头来过", "全部作废"]),
    },
}

NAMES = {"en": [("a ceramic mug", "ceramic mug"), ("scented candles", "scented candles"),
                ("a leather wallet", "leather wallet"), ("a yoga mat", "yoga mat"), ("phone cases", "phone cases"),
                ("a wool scarf", "wool scarf"), ("an espresso machine", "espresso machine"),
                ("a desk lamp", "desk lamp"), ("running shoes", "running shoes"), ("notebooks", "notebooks"),
                ("a garden hose", "garden hose"), ("handmade soap", "handmade soap")],
         "zh": [(n, n) for n in ("陶瓷杯", "香薰蜡烛", "皮夹", "瑜伽垫", "手机壳", "羊毛围巾", "咖啡机", "台灯", "跑鞋",
                                "笔记本", "保温杯", "手工皂")]}
ITEMS = {"en": ["units", "pcs", "pieces", "items"], "zh": ["件", "个", "单", "份"]}

# Time words for sales, oldest first; each family is a phrasing with an id, split like the others.
WHEN: dict[str, tuple[list[list[str]], list[list[str]]]] = {
    "en": ([["three weeks ago", "two weeks ago", "last week", "this week"],
            ["in January", "in February", "in March", "in April"],
            ["on 2 March", "on 9 March", "on 16 March", "on 23 March"],
            ["the week of 2026-03-02", "the week of 2026-03-09", "the week of 2026-03-16", "the week of 2026-03-23"]],
           [["in week 10", "in week 11", "in week 12", "in week 13"],
            ["back in May", "in June", "in July", "in August"],
            ["on 03/02", "on 03/09", "on 03/16", "on 03/23"]]),
    "zh": ([["三周前", "两周前", "上周", "这周"], ["1月", "2月", "3月", "4月"],
            ["3月2日", "3月9日", "3月16日", "3月23日"]],
           [["三个月前", "上上个月", "上个月", "这个月"], ["5月份", "6月份", "7月份", "8月份"],
            ["第10周", "第11周", "第12周", "第13周"]]),
}
JOINS = {"en": ([", ", ". ", " and "], ["; ", " - ", ", plus "]), "zh": (["，", "。", "；"], ["，另外", "。还有，"])}
SALE_JOINS = {"en": ([" and ", ", then ", ", "], ["; ", " while "]), "zh": (["，", "；"], ["，然后", "，接着"])}
APPROX = {"en": ["about ", "around ", "roughly ", "~"], "zh": ["大约", "大概", "差不多"]}
CURRENCIES = {"en": ["USD", "USD", "EUR", "EUR", "GBP", "CNY", None], "zh": ["CNY", "CNY", "CNY", "USD", None]}

# --- the second train family (issue 16, second reader) ------------------------------------------------------
# Wordings written after the first reader misread plainer, chattier messages: prices said as "I sell them for",
# a product named inside another clause ("my {bare} cost me ..."), guardrails and questions said the way people
# talk. Train family only: the held-out lists above are unchanged, and none of these repeats a held-out
# wording (tests/finetune/test_message_data.py). {bare} is a product name without its article.
MORE_TRAIN: dict[str, dict[str, list[str]]] = {
    "en": {
        "name": ["({bare})", "{bare} btw", "it's for my {bare}", "re: {bare}", "about my {bare}:",
                 "I make {bare}", "question about my {bare}"],
        "cost": ["supplier price is {cost}", "my cost is like {cost}", "materials run me {cost}", "cost {cost}/unit",
                 "{cost} in materials per piece", "costs {cost} all in", "supplier charges me {cost}"],
        "current": ["I sell them for {p}", "they go for {p}", "retail is {p}", "I'm charging {p}", "asking {p}",
                    "selling at {p} each", "priced at {p}", "they sell at {p}", "I charge {p} each",
                    "{p} is what I charge", "Current price: {p}", "price: {p}"],
        "cur_named": ["I'm selling {bare} at {p}", "{bare} go for {p}", "I charge {p} for {bare}",
                      "my {bare} sell for {p}", "I sell {bare} for {p}", "{bare} are priced at {p}",
                      "I'm asking {p} for the {bare}"],
        "cost_named": ["my {bare} cost me {cost} each", "{bare} cost {cost} to make", "the {bare} cost me {cost}",
                       "each of my {bare} costs {cost}"],
        "competitor": ["the other seller charges {p}", "the big brands charge {p}", "competitors are around {p}",
                       "on eBay similar ones are {p}", "Etsy sellers ask {p}", "Competitor: {p}",
                       "a bigger brand sells one for {p}", "the store across town charges {p}"],
        "min_price": ["floor {p}", "minimum {p}", "at least {p}", "Floor: {p}", "price floor of {p}"],
        "max_price": ["ceiling {p}", "maximum {p}", "price ceiling {p}", "I'd rather not exceed {p}",
                      "Ceiling: {p}", "top price {p}"],
        "min_margin": ["gross margin above {pct}", "Min margin: {pct}",
                       "margins of {pct} or more"],
        "max_change": ["keep any price move within {pct}", "no price change over {pct} at a time",
                       "don't move the price more than {pct}", "Max change: {pct}"],
        "q_price": ["is my price right?", "too high?", "should I raise it?", "should I lower the price?",
                    "thoughts on price?", "which price is better?", "suggest a price?", "any idea what price to set?",
                    "what should it be?", "am I charging too little?"],
        "q_what_if": ["what would happen if I went to {p}?", "what would {p} do?", "if I charged {p}, what happens?",
                      "what happens to my sales if I charge {p}?", "thinking of going to {p}, good idea?",
                      "what if i charged {p}", "what would happen to profit at {p}?"],
        "q_why_lower": ["why shouldn't I go lower?", "why not drop the price?", "why not undercut them?"],
        "q_why_higher": ["why not raise it more?", "why can't I charge more?", "why not push the price up?"],
        "q_elasticity": ["how much would demand drop if I raise the price?", "how price sensitive are my customers?",
                         "will I lose customers if I go up?"],
        "q_reset": ["forget that, new product", "ok new product", "let's do another product"],
        "chatter": ["thanks!", "ok got it", "cool, thanks", "let me think about it", "sounds good", "great, thank you",
                    "makes sense"],
    },
    "zh": {
        "name": ["（{bare}）", "说的是{bare}", "我家{bare}", "关于{bare}", "我做{bare}的"],
        "cost": ["一个成本{cost}左右", "成本：{cost}", "{cost}一个的成本"],
        "current": ["卖{p}", "现在卖{p}一个", "售价{p}", "零售价{p}", "我卖{p}", "卖价{p}", "售价：{p}",
                    "目前卖{p}一件"],
        "cur_named": ["我家{bare}卖{p}", "{bare}现在卖{p}", "{bare}售价{p}", "我的{bare}卖{p}一个"],
        "cost_named": ["{bare}进价{cost}", "我的{bare}成本{cost}", "{bare}一个成本{cost}", "做{bare}成本{cost}"],
        "competitor": ["淘宝上同款卖{p}", "拼多多同类{p}", "竞品才卖{p}", "对手店铺卖{p}", "友商卖{p}", "京东上卖{p}",
                       "竞品：{p}"],
        "min_price": ["最低{p}", "不能低于{p}"],
        "max_price": ["最高{p}", "不能高于{p}", "上限{p}"],
        "min_margin": ["毛利不低于{pct}", "毛利至少{pct}", "利润率得有{pct}"],
        "max_change": ["每次调价别超过{pct}", "价格变动别超过{pct}"],
        "q_price": ["这个价格合适吗？", "要不要降价？", "能不能再涨点？", "该怎么调？", "定多少钱好？",
                    "建议卖多少？", "我这价格合适吗", "帮忙推荐一个价格"],
        "q_what_if": ["如果卖{p}会怎样？", "涨到{p}会怎样？", "要是降到{p}呢", "假如定价{p}，利润会怎么样？",
                      "如果定价到{p}，销量会变成多少？"],
        "q_why_lower": ["为什么不建议我降价？", "为啥不卖低点？"],
        "q_why_higher": ["为啥不卖贵一点？", "卖贵点为啥不行？"],
        "q_elasticity": ["顾客对价格敏感吗？", "客户对价格有多敏感？"],
        "q_reset": ["忘掉前面的，新产品", "换个商品", "重新来"],
        "chatter": ["好的谢谢", "明白了", "收到", "我再想想", "谢谢！", "好的，了解"],
    },
}
for _lang, _slots in MORE_TRAIN.items():
    for _slot, _words in _slots.items():
        _train, _held = PHRASES[_lang].setdefault(_slot, ([], []))
        _train.extend(w for w in _words if w not in _train)

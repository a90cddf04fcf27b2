"""The words the chat's pattern matcher reads (`ui.message.extract`): sales relations, cue words for each
field, what-if and question patterns, product-name patterns, in English and Chinese.

They work on the message's skeleton, where every amount, percentage and time is one private-use character
(`A` an amount, `P` a percentage; `ui.message._skeleton` builds it), so a pattern names the words around
numbers, never the numbers' own spellings. Split from `ui.message` (the reading machinery) because this is
the part that grows: each wording a merchant uses and the matcher should read is a line here.

What is hand-written, and why: see `ui.message`; these tables were written from the train phrasings of
`finetune.message_data` (both of its train families) and never from the held-out ones or the blind sets.
"""

from __future__ import annotations

import re

# --- the skeleton's placeholders ----------------------------------------------------------------------
AMOUNT0, PCT0, TIME0 = 0xE200, 0xE600, 0xE100  # one private-use character per amount / percentage / time
MAX_TIMES, MAX_AMOUNTS = 0x100, 0x400  # so the three ranges never meet; a message past them is read in part
A = "([\uE200-\uE5FF])"  # an amount in the skeleton
P = "([\uE600-\uE9FF])"  # a percentage
STOP = "\uE100-\uE9FF.;!?。；！？\n"  # what a cue's gap may not cross: another placeholder or a sentence end


# --- relations on the skeleton ---------------------------------------------------------------------

_NOT_UNITS = r"(?!(?:weeks?|days?|months?|years?|periods?|times)\b)"
# units first: "I sold 120 at $12", "120 mugs at $12", "120 units for $12", "120 sold for $12 each", "120 @ 12"
_ZH_UNIT = r"(?:件|个|单|份|瓶|盒|包|袋|杯|双|套)"
SALE_UP = [re.compile(A + r"(?:\s+" + _NOT_UNITS + r"[A-Za-z][\w-]{0,30}){0,2}?\s*"
                       r"(?:\s(?:at|for)(?:\s+a\s+price\s+of)?(?![A-Za-z])|@)\s*" + A, re.I),
            re.compile(r"卖(?:了|出)\s*" + A + r"\s*(?:件|个|单|份)?\s*[，,]?\s*(?:售价|价格|单价|每个|每件)\s*"
                       r"(?:是|为|:)?\s*" + A),
            re.compile(A + r"\s*(?:件|个|单|份)\s*[，,]\s*(?:售价|价格|单价)\s*(?:是|为|:)?\s*" + A),
            re.compile(r"销量\s*" + A + r"\s*[，,]?\s*(?:售价|价格|单价)\s*(?:是|为|:)?\s*" + A),
            # "15件@35", "卖了12件（24元）", "出了80瓶，卖35"
            re.compile(A + r"\s*" + _ZH_UNIT + r"?\s*@\s*" + A),
            re.compile(r"卖(?:了|出)\s*" + A + r"\s*" + _ZH_UNIT + r"?\s*[（(]\s*" + A + r"\s*[）)]"),
            re.compile(r"出了\s*" + A + r"\s*" + _ZH_UNIT + r"?\s*[，,]\s*卖\s*" + A),
            re.compile(A + r"\s*" + _ZH_UNIT + r"\s*[，,]\s*卖\s*" + A)]
# price first: "以12卖出120个", "12的价格卖了120件", "价格12，销量120"
SALE_PU = [re.compile(r"以\s*" + A + r"\s*(?:的价格)?\s*卖(?:出|了)\s*" + A),
            re.compile(A + r"\s*的价格\s*卖(?:出|了)?\s*" + A),
            re.compile(r"卖\s*" + A + r"\s*(?:还|就)?\s*出了\s*" + A),
            re.compile(r"(?:售价|价格|单价)\s*" + A + r"\s*[，,]?\s*销量\s*" + A),
            re.compile(r"(?:售价|价格|单价)\s*(?:是|为)?\s*" + A + r"\s*[，,]?\s*卖(?:了|出)\s*" + A),
            re.compile(r"\b(?:price|charged|was)\s*" + A + r"\s*,?\s*(?:and\s+)?(?:I\s+)?sold\s*" + A, re.I)]

# "I spend $4 per unit" is a cost, "I spend $200 on ads" is not: these cues need a per-unit word after the amount
_PER_UNIT = r"[^.;!?。；！？\n]{0,25}\b(?:each|per|apiece|a\s+(?:unit|piece|item))\b"
# "max 500 a month" is a quantity, not a price
_NOT_A_COUNT = r"(?!\s*(?:units?|pcs|pieces|items|orders|sales|per|a\s+(?:month|week|day))\b)"
# the words between "I sell" and its "at" / "for": one clause, no amount, not across "and" into another seller's
_OWN = r"(?:(?!\b(?:and|competitors?|rivals?|similar)\b)[^,.;:!?\n\uE200-\uE9FF])"
CUES: dict[str, str] = {
    "unit_cost": r"\bcosts?\b(?:\s+(?:me|us))?|\bunit\s+cost\b|\bcogs\b|\bI\s+pay\b|\b(?:purchase|buying)\s+price\b|"
                 r"\bI\s+(?:spend|paid)\b(?=" + _PER_UNIT + ")|" r"\bsupplier\s+(?:price\s+is|charges\s+me)\b|"
                 r"\bmaterials\s+run\s+me\b|成本价?|进价|进货价|出厂价|批发价",
    "competitor_price": r"\bcompetitors?(?:'s)?\b|\bthe\s+competition\b|\bcompeting\s+sellers?\b|"
                        r"\bmarket\s+leader\b|\bsimilar\s+(?:sellers?|listings?)\b|\bgoing\s+rate\b|"
                        r"\bnext\s+to\s+mine\b|\bmarket\s+price\b|\bcompeting\s+products?\b|"
                        r"\bbig(?:ger)?\s+brands?\b|\bsimilar\s+ones\b|\bsellers\s+ask\b|\bother\s+seller\b|"
                        r"\bacross\s+town\b|竞争对手|竞争者|竞争店铺|竞争品牌|竞品|对手|同款|同类|市场价|友商|京东上",
    "current_price": r"\bcurrently\b|\bright\s+now\b|\bnow\b|\btoday\b|\bcurrent\s+price\b|\bI\s+charge\b|"
                     r"\bI\s+sell\s+it\s+(?:for|at)\b|\bmy\s+price\s+is\b|\bI'?m\s+(?:selling\s+)?at\b|"
                     r"\bat\s+the\s+moment\b|\bI\s+have\s+it\s+at\b|\bwe\s+charge\b|\bit\s+sells\s+for\b|"
                     r"\b(?:selling|retail|our)\s+price\b|\bmsrp\b|\brrp\b|\bretail\s+is\b|\bI'?m\s+(?:charging|asking)\b|"
                     r"\basking\b|\bpriced\s+at\b|"
                     # the merchant's own selling ("I'm selling them at", "my candles go for"), never a rival's:
                     # "similar listings go for $25" and "the competitor is selling at $17" are competitor prices
                     r"\b(?:I|we)(?:'?m|'?re)?\s+sell(?:ing)?\b" + _OWN + r"{1,40}?\b(?:at|for)\b|"
                     r"\b(?:they|my|our)\b" + _OWN + r"{0,40}?\b(?:go|sell)\s+(?:for|at)\b|"
                     r"现在卖|现在|目前售价|目前|当前价格|当前|零售价|我们的价格|卖价|售价[:：]|我卖(?=\s*[\uE200-\uE5FF])",
    "min_price": r"\bnever\s+(?:go\s+)?below\b|\bnot\s+below\b|\bat\s+least\b|\bmin(?:imum)?\s+price\b|"
                 r"\bprice\s+floor\b|\bfloor\s+price\b|\bfloor\s+at\b|\bno\s+lower\s+than\b|"
                 r"\b(?:keep\s+it|stay)\s+above\b|\bfloor\b|\bminimum\b|"
                 r"地板价|最低价|不要低于|不低于|不能低于|价格至少|最低卖|价格下限|最低",
    "max_price": r"\bnever\s+(?:go\s+)?above\b|\bnot\s+above\b|\bat\s+most\b|\bmax(?:imum)?\s+price\b|"
                 r"\bprice\s+ceiling\b|\bceiling\b|\bno\s+higher\s+than\b|\bnever\s+more\s+than\b|"
                 r"\bstay\s+below\b|\bmax\b(?=\s?[\uE200-\uE5FF]" + _NOT_A_COUNT + ")|"
                 r"\bmaximum\b|\brather\s+not\s+exceed\b|\btop\s+price\b|"
                 r"最高价|不要超过|不超过|价格上限|上限|价格最高|最高卖|最高|不能高于",
}
PCT_CUES: dict[str, str] = {
    "min_margin": r"\bmargins?\b|利润率|毛利",
    "max_change": r"\bchanges?\b|\bmoves?\b|调价|变动|幅度|最多调|最多变",
}
# cues written right after their amount (no word between): "it's $5 to make one", "a 30% minimum margin",
# "no more than 10% change per week"
POST_CUES: dict[str, str] = {"unit_cost": r"to\s+(?:make|produce)\b|in\s+materials\b|一个的成本",
                             "current_price": r"is\s+what\s+I\s+charge\b"}
PCT_POST_CUES: dict[str, str] = {"min_margin": r"(?:minimum\s+)?margin\b", "max_change": r"change\b"}
WHAT_IF = re.compile(r"(?:\bwhat\s+if\b|\bhow\s+about\b|\bwhat\s+about\b|\band\s+if\b|\bwhat\s+happens\s+at\b|"
                     r"\bif\s+I\s+charged?\b|\bwhat\s+would\b|\bthinking\s+of\s+going\s+to\b|"
                     r"如果|要是|假如)[^" + STOP + r"]{0,30}?" + A
                     + r"|(?:卖|涨到|降到)\s*" + A + r"\s*(?:会怎样|呢)", re.I)
GAP = r"[^" + STOP + r"]{0,30}?"
# "newest first: 31 @ $18, 28 @ $16": rows told without times of their own are reversed into time order
NEWEST_FIRST = re.compile(r"\b(?:newest|latest|most\s+recent)\s+first\b|从近到远|最近的在前", re.I)

QUESTIONS: list[tuple[str, re.Pattern]] = [
    ("reset", re.compile(r"\b(?:start\s+(?:over|again|fresh)|new\s+(?:product|item)|reset|"
                         r"forget\s+(?:it|that|everything)|clear\s+everything|(?:another|a\s+different)\s+product)\b|"
                         r"重新开始|换个产品|换一个产品|换个商品|清空|清除所有|重来|重新来|忘掉前面", re.I)),
    ("why_lower", re.compile(r"\bwhy\s+not\s+(?:go\s+|a\s+)?(?:lower|cheaper|less)\b|\bwhy\s+not\s+cut\b|"
                             r"\bwhy\s+shouldn'?t\s+I\s+go\s+lower\b|\bwhy\s+not\s+(?:drop|undercut)\b|"
                             r"为什么不(?:更|卖|再)?(?:低|降价|便宜)|为什么不建议我?降价|为啥不卖?低", re.I)),
    ("why_higher", re.compile(r"\bwhy\s+not\s+(?:go\s+|charge\s+|a\s+)?(?:higher|more)\b|\bwhy\s+not\s+raise\b|"
                              r"\bwhy\s+not\s+push\b|\bwhy\s+can'?t\s+I\s+charge\s+more\b|"
                              r"为什么不(?:更|卖|再)?(?:高|涨价|贵|提价)|为啥不卖?贵|卖贵点?为啥不行", re.I)),
    ("elasticity", re.compile(r"sensitiv|elastic|responsive|\bdemand\s+drop\b|\blose\s+customers\b|敏感|弹性", re.I)),
    ("price", re.compile(r"\bwhat\s+(?:should\s+I\s+charge|price)\b|\bbest\s+price\b|\brecommend|"
                         r"\bhow\s+much\s+should\b|\bwhat\s+should\s+the\s+price\s+be\b|"
                         r"\boptimal\s+price\b|\bsuggest\b|\bgive\s+me\s+a\s+price\b|"
                         r"定什么价|卖多少钱|最优价格|什么价格|建议.{0,4}价|定价多少|推荐.{0,3}价|"
                         r"\bshould\s+I\s+(?:raise|lower)\b|\btoo\s+(?:high|low)\b|\bthoughts\s+on\s+(?:the\s+)?price\b|"
                         r"\bwhich\s+price\b|\bwhat\s+should\s+it\s+be\b|\bis\s+my\s+price\s+right\b|"
                         r"\bcharging\s+too\s+(?:little|much)\b|"
                         r"最佳售价|卖什么价|价格合适吗|要不要降价|能不能再涨|该怎么调|定多少钱|建议卖多少", re.I)),
]
NAME_EN = re.compile(r"\b(?:I\s+sell|we\s+sell|selling|product\s+is|product:|item\s+is|listing\s+is\s+for|"
                     r"I'?ve\s+got|I\s+make|re:|(?:question\s+)?about\s+my|it'?s\s+for\s+my)\s+"
                      r"(?!(?:(?:an?|the|some)\s+)?(?:it|them|this|that|these|those|questions?|problems?|issues?|doubts?)\b)"
                      r"(?:an?\s+|the\s+|some\s+)?"
                      r"([A-Za-z][\w '&/-]{1,79}?)(?=\s*(?:[,.;:!?(]|—|-\s|\bthat\b|\bfor\b|\bat\b|\band\b|$))", re.I)
NAME_ZH = re.compile(r"(?:我卖|我在卖|我们卖|我的产品是|产品是|产品[:：]|商品是|商品[:：]|我家|说的是|我做)"
                     r"\s*([^\s，。,.;；:：!！?？\d\uE000-\uF8FF]{1,20}?)"
                     r"(?=[，。,.;；!！?？]|$|成本|进价|卖|售价|现在|的$|的[，。])")

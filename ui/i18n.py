"""The chat's languages: gettext catalogs read with Babel, numbers formatted for the merchant's locale.

A merchant who writes in Chinese should be answered in Chinese (issue 16). The answer texts in `ui` are
English source strings marked for translation (`voice._("...")`, `voice.ngettext(...)`, `N_("...")` for a
text translated later); each other language has a gettext catalog,
`ui/locales/<locale>/LC_MESSAGES/messages.po`. The .po is read at run time (`babel.messages.pofile.read_po`)
and compiled in memory, so an install has no compile step and no .mo can fall out of date with its .po.

Placeholders are `str.format` names (`{price}`); a translation must keep the msgid's names
(tests/ui/test_locale.py checks every entry). Numbers are formatted before they are put in: Python's own
rounding (so English reads exactly as it always has) with the locale's separators and signs from
`babel.numbers`. Money is written in the merchant's currency where the merchant wrote one
(`MerchantFacts.currency`, the currency of the latest message that wrote one), with the locale's symbol and
pattern (`babel.numbers.format_currency`: "€12.00" and "CN¥12.00" in English, "US$12.00" and "¥12.00" in
Chinese). Where none was written, the English texts write dollars ("$12.00"), as they always have, and that "$"
is itself a translatable text (`"${amount}"`), which the Chinese catalog writes as the plain amount.

Updating a catalog after changing texts, with Babel's own tools:

    pybabel extract -k N_ -o /tmp/messages.pot ui
    pybabel update -i /tmp/messages.pot -d ui/locales -l zh_CN

then translate the new entries (tests/ui/test_locale.py fails while one is missing or unused).
"""

from __future__ import annotations

import gettext
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, reduce
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_minus_sign_symbol,
    get_plus_sign_symbol,
)
from babel.support import Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"  # the msgids' language: it needs no catalog
LOCALES = {"en": "en_US", "zh": "zh_CN"}  # the chat's languages (`ui.message` detects en and zh) -> catalog


def N_(text: str) -> str:
    """Marks `text` for extraction only; whoever shows it translates it then (`voice._(text)`)."""
    return text


def po_path(lang: str) -> Path:
    return LOCALES_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _translations(lang: str) -> gettext.NullTranslations:
    """The language's catalog, compiled from its .po in memory once per process."""
    if lang == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=LOCALES[lang], domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True)
class Voice:
    """gettext / ngettext bound to one language's catalog, and numbers written the way its locale writes them."""

    lang: str
    locale: Locale
    translations: gettext.NullTranslations
    currency: str | None = None  # ISO 4217 code of the merchant's amounts, when the merchant wrote one

    @property
    def is_source(self) -> bool:
        """Whether this is the msgids' own language: sentences other layers write in English pass unchanged."""
        return self.lang == SOURCE_LANGUAGE

    def _(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: float) -> str:
        return self.translations.ngettext(singular, plural, int(n) if float(n).is_integer() else 2)

    def pgettext(self, context: str, message: str) -> str:
        return self.translations.pgettext(context, message)

    # separators are texts too: Chinese lists with "、", clauses with "；" and puts no space between sentences
    def items(self, parts: Iterable[str]) -> str:
        """A list of items ("unit cost, competitor price")."""
        return self.pgettext("list separator", ", ").join(parts)

    def clauses(self, parts: Iterable[str]) -> str:
        """A list of clauses ("120 at $12.00; 90 at $14.00")."""
        return self.pgettext("clause separator", "; ").join(parts)

    def sentences(self, parts: Iterable[str]) -> str:
        """Sentences one after another in a paragraph (a template, since a catalog cannot map " " to "")."""
        then = self.pgettext("sentences", "{sentence} {next}")
        return reduce(lambda text, more: then.format(sentence=text, next=more), parts)

    def num(self, x: float, digits: int = 2, sign: bool = False) -> str:
        """`f"{x:,.{digits}f}"` (or `+,` with `sign`) in this locale: Python's rounding, the locale's
        separators and signs."""
        if not math.isfinite(x):
            return f"{x}"
        text = f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
        negative = text.startswith("-")
        body = format_decimal(Decimal(text.lstrip("+-")), format="#,##0" + ("." + "0" * digits if digits else ""),
                              locale=self.locale)
        if negative:
            return get_minus_sign_symbol(self.locale) + body
        return get_plus_sign_symbol(self.locale) + body if sign else body

    def pct(self, fraction: float, digits: int = 0) -> str:
        """`f"{fraction:.{digits}%}"` in this locale (0.15 -> "15%")."""
        if not math.isfinite(fraction):
            return f"{fraction:.{digits}%}"
        rounded = Decimal(f"{fraction * 100:.{digits}f}") / 100
        return format_percent(rounded, format="0" + ("." + "0" * digits if digits else "") + "%", locale=self.locale)

    def money(self, x: float | None, sign: bool = False) -> str:
        """An amount of money in the merchant's currency ("€12.00"; "$12.00" in English and "12.00" in Chinese
        where no currency is known); "—" for none. Rounded as `num` rounds (Python's), then formatted. `sign`: a
        change, written with its sign in front ("+€2.50", "-$0.40")."""
        if x is None:
            return "—"
        if sign and math.isfinite(x):
            rounded = float(f"{x:.2f}")
            symbol = get_minus_sign_symbol(self.locale) if rounded < 0 else get_plus_sign_symbol(self.locale)
            return symbol + self.money(abs(rounded))
        if self.currency is None or not math.isfinite(x):
            return self._("${amount}").format(amount=self.num(x, 2))
        return format_currency(Decimal(f"{x:.2f}"), self.currency, locale=self.locale)


@cache
def translator(lang: str | None, currency: str | None = None) -> Voice:
    """The voice of `lang` ('en', 'zh'; anything else speaks English): gettext, ngettext and number formats;
    money in `currency` (an ISO code) when given."""
    lang = lang if lang in LOCALES else SOURCE_LANGUAGE
    return Voice(lang, Locale.parse(LOCALES[lang]), _translations(lang), currency)

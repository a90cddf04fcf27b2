"""How a text table is written: its encoding, delimiter and decimal mark, sniffed from its first bytes.

Merchants' files come from Excel in many locales and from shop platforms: a European CSV is
`;`-separated with decimal commas and a UTF-8 BOM, Excel's "Unicode text" is UTF-16 with tabs, Amazon's
reports are tab-separated `.txt`, and an old spreadsheet saves Windows-1252. The rules, in order:

- Encoding: a byte-order mark decides (UTF-8, UTF-16, UTF-32); UTF-16 without one shows as NUL bytes in
  every other position; otherwise UTF-8 when the sample decodes as UTF-8, else Windows-1252 (then
  Latin-1, which decodes any byte). Other NUL bytes or many control characters: not a text table.
- Delimiter: `csv.Sniffer` over the first lines, among `,` `;` tab `|`, checked against the header: a
  guess that splits the header into fewer fields than another candidate does loses to it (the Sniffer
  fails on ragged or one-line files, and the header is the line every table has). `.tsv` prefers tabs.
- Decimal mark: cells that can only be a decimal comma ("12,50", "1.299,00", "0,125") against cells that
  can only be a decimal point ("12.50", "1,299.00"); commas win only with more evidence. Then, in money
  and count columns, "1.299" is 1299 and "1,299" is 1.299 (`values.decimal_comma_text`).

The sample is the first 64 KiB and at most 40 lines, so sniffing costs the same for any file size.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass

SAMPLE_BYTES = 64 * 1024
SAMPLE_LINES = 40
DELIMITERS = (",", ";", "\t", "|")
_SIGN_AND_CURRENCY = " \u00a0+-\u2212()$€£¥%"
_COMMA_ONLY = re.compile(r"\d{1,3}(?:\.\d{3})+,\d+|\d+,\d+")
_POINT_ONLY = re.compile(r"\d{1,3}(?:,\d{3})+\.\d+|\d+\.\d+")
_THOUSANDS_ONLY = re.compile(r"[1-9]\d{0,2}(?:[.,]\d{3})+")


class NotText(ValueError):
    """The bytes are not a text table in any encoding the reader accepts."""


@dataclass(frozen=True)
class Dialect:
    """What pandas needs to read a text table, and how its numbers are written."""

    encoding: str  # a Python codec name
    delimiter: str
    decimal: str = "."  # "." or ","

    def describe(self) -> str:
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
        mark = "decimal commas" if self.decimal == "," else "decimal points"
        return f"{self.encoding}, {names[self.delimiter]}-separated, {mark}"


def sniff_encoding(sample: bytes, complete: bool) -> str:
    """The encoding of a table's first bytes (`complete`: the sample is the whole file)."""
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    pairs = len(sample) // 2
    if pairs >= 2:
        even, odd = sample[0:2 * pairs:2].count(0), sample[1:2 * pairs:2].count(0)
        if odd >= pairs * 0.4 and even == 0:
            return "utf-16-le"
        if even >= pairs * 0.4 and odd == 0:
            return "utf-16-be"
    if 0 in sample:
        raise NotText("not a text table (it holds binary data; save it as CSV or .xlsx)")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _check_text(text: str) -> None:
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    if text and controls > max(2, len(text) // 100):
        raise NotText("not a text table (it holds binary data; save it as CSV or .xlsx)")


def _header_fields(lines: list[str], delimiter: str) -> int:
    if not lines:
        return 0
    try:
        return len(next(csv.reader([lines[0]], delimiter=delimiter), []))
    except csv.Error:
        return 0


def sniff_delimiter(lines: list[str], preferred: str = ",") -> str:
    """The delimiter of a table's first lines: the Sniffer's guess, checked against the header."""
    counts = {d: _header_fields(lines, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == preferred))
    try:
        guess = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        guess = None
    if guess in counts and counts[guess] > 1 and counts[guess] >= counts[best]:
        return guess
    return best if counts[best] > 1 else preferred


def _bare(cell: str) -> str:
    return cell.strip().strip(_SIGN_AND_CURRENCY).replace(" ", "").replace("\u00a0", "")


def sniff_decimal(lines: list[str], delimiter: str) -> str:
    """',' when more cells can only be read with a decimal comma than with a decimal point, else '.'."""
    comma = point = 0
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=delimiter))
    except csv.Error:
        return "."
    for row in rows:
        for cell in row:
            s = _bare(cell)
            if not s or not s[0].isdigit() or _THOUSANDS_ONLY.fullmatch(s):
                continue  # "1,299" and "1.299" read either way: no evidence
            if _COMMA_ONLY.fullmatch(s):
                comma += 1
            elif _POINT_ONLY.fullmatch(s):
                point += 1
    return "," if comma > point else "."


def sniff(sample: bytes, complete: bool, preferred: str = ",") -> Dialect:
    """The dialect of a text table from its first bytes; NotText when they are not text."""
    encoding = sniff_encoding(sample, complete)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(sample, final=complete).lstrip("\ufeff")
    _check_text(text[:SAMPLE_BYTES])
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample is cut too
    lines = [line for line in lines[:SAMPLE_LINES] if line.strip()]
    delimiter = sniff_delimiter(lines, preferred)
    return Dialect(encoding, delimiter, sniff_decimal(lines, delimiter))

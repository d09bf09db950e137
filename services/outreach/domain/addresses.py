"""Japanese addresses brought to one form, so that reports about one home compare equal however
a partner wrote it. Pure.

  東京都福生市加美平三丁目4番地5号 / 福生市加美平３－４－５ / 〒197-0003 東京都 福生市 加美平3丁目4番5号
  all become 福生市加美平3-4-5.

Steps: NFKC (full-width digits, letters and hyphens to half width); spaces out; the postal code
(〒, 7 digits) out; the prefecture out (one city's reports: it adds nothing and is often left
off); 大字/字 out; kanji numerals (〇一二…九十百千) to digits where they count a 丁目, 番地, 番,
号 or stand in a hyphenated number; 丁目/番地/番/の to hyphens, 号 out; every dash to one hyphen.
Place names keep their kanji (八王子, 四谷): only numbers before a block marker are converted.
"""

from __future__ import annotations

import re
import unicodedata

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                 "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = "[〇零一二三四五六七八九十百千]+"
# Dashes people type in addresses; ー (the long vowel mark) only between digits.
_DASHES = re.compile(r"[‐‑‒–—―−﹣]|(?<=\d)[ーｰ](?=\d)")
_POSTAL = re.compile(r"^〒?\d{3}-?\d{4}")
_PREFECTURE = re.compile(r"^(東京都|北海道|京都府|大阪府|.{2,3}県)")
_AZA = re.compile(r"大字|字")
_BLOCK_NUMERAL = re.compile(rf"{_NUMERAL}(?=丁目|番地|番|号|-|の|$)|(?<=-){_NUMERAL}")


def kanji_number(text: str) -> int:
    """一 → 1, 十二 → 12, 二十三 → 23, 百五 → 105, 千二百 → 1200; 一〇五 (digit by digit) → 105."""
    if not any(c in _KANJI_UNITS for c in text):
        return int("".join(str(_KANJI_DIGITS[c]) for c in text))
    total, digit = 0, None
    for c in text:
        if c in _KANJI_UNITS:
            total += (digit if digit is not None else 1) * _KANJI_UNITS[c]
            digit = None
        else:
            digit = _KANJI_DIGITS[c]
    return total + (digit or 0)


def normalise(address: str) -> str:
    s = unicodedata.normalize("NFKC", address)
    s = re.sub(r"\s+", "", s)
    s = _DASHES.sub("-", s)
    s = _POSTAL.sub("", s)
    s = _PREFECTURE.sub("", s)
    s = _AZA.sub("", s)
    s = _BLOCK_NUMERAL.sub(lambda m: str(kanji_number(m.group())), s)
    s = re.sub(r"(\d+)(?:丁目|番地|番)", r"\1-", s)
    s = re.sub(r"(\d+)号", r"\1", s)
    s = re.sub(r"(?<=[\d-])の(?=\d)", "-", s)
    s = re.sub(r"-+", "-", s)
    return s.strip("-")


def normalise_name(name: str) -> str:
    """A person's name as written in a report, compared without width or spacing differences."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))

"""Normalised copies of names, addresses and phone numbers for identity linking (名寄せ). Rules only; no I/O.

Store what was typed; match on a normalised copy. The person's name as written at the window (髙橋, 渡邉,
a compatibility ideograph from a legacy system) is kept as it is everywhere: it is how they write their
name, and letters to them must use it. These functions only produce the key that records are compared on.

Matching only suggests candidates, with reasons a worker can read; it never merges records by itself.
Two people called 伊藤 and 伊東, or 渡辺 and 渡部, are different names even when both read イトウ or
ワタナベ: the kana reading brings them together as candidates, the kanji keeps them apart.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

# Old or variant forms (異体字) → the form we compare on. Values are never keys (one step is enough),
# and 藤/東, 辺/部, 崎/埼 are deliberately absent: those are different names, not ways to write one.
# Compatibility ideographs are written as escapes so that no editor or tool can normalise them away.
VARIANTS: dict[str, str] = {
    # 高 崎 辺 斎: the variants people ask about most often at a window.
    "髙": "高", "\uFA11": "崎", "嵜": "崎", "邊": "辺", "邉": "辺", "齋": "斎", "齊": "斎", "斉": "斎",
    "濱": "浜", "濵": "浜", "澤": "沢", "櫻": "桜", "廣": "広", "國": "国", "嶋": "島", "嶌": "島",
    "德": "徳", "眞": "真", "藏": "蔵", "壽": "寿", "惠": "恵", "彌": "弥", "實": "実", "滿": "満",
    "榮": "栄", "龍": "竜", "瀧": "滝", "槇": "槙", "冨": "富", "埜": "野", "舘": "館", "條": "条",
    "淵": "渕", "渊": "渕", "淺": "浅", "戶": "戸", "驒": "騨", "\uFA14": "欅", "\U00020BB7": "吉",
    # Compatibility ideographs seen in names (legacy character sets); see also _compat_ideographs().
    "\uF9DC": "隆", "\uFA10": "塚", "\uFA19": "神", "\uFA1B": "福", "\uFA2C": "館", "\uFA4F": "祐",
    "\uFA53": "禎", "\uFA12": "晴", "\uFA26": "都", "\uFA4A": "琢", "\uF929": "朗", "\uFA1C": "靖",
    "\uFA1E": "羽", "\uFA22": "諸", "\uFA2A": "飯", "\uFA2D": "鶴",
    # Other old forms (旧字体) common in surnames and given names.
    "增": "増", "豐": "豊", "禮": "礼", "靜": "静", "與": "与", "淸": "清", "靑": "青", "圓": "円",
    "關": "関", "學": "学", "萬": "万", "來": "来", "澁": "渋", "澀": "渋", "卷": "巻", "黑": "黒",
    "瀨": "瀬", "曾": "曽", "莊": "荘", "峯": "峰", "杦": "杉", "栁": "柳", "桒": "桑", "鷗": "鴎",
    "巖": "巌", "嚴": "厳", "亞": "亜", "恆": "恒", "曉": "暁", "溪": "渓", "經": "経", "濟": "済",
    "將": "将", "壯": "壮", "聰": "聡", "總": "総", "當": "当", "稻": "稲", "藝": "芸", "鄕": "郷",
    "穗": "穂", "讓": "譲", "黃": "黄", "檜": "桧", "藪": "薮", "嶽": "岳", "舩": "船", "寬": "寛",
    "萠": "萌", "逹": "達", "會": "会", "邨": "村", "鐵": "鉄", "縣": "県", "傳": "伝", "兒": "児",
}

_IDEOGRAPH_RUNS = re.compile(r"([\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\U00020000-\U0003FFFF]+)")
# Variation selectors (IVS, as in 葛󠄀 or 辻󠄀) and zero-width characters: invisible, never part of a key.
_INVISIBLE = re.compile("[\u200B-\u200D\u2060\uFEFF\uFE00-\uFE0F\U000E0100-\U000E01EF]")


def _compat_ideographs() -> dict[str, str]:
    """Every CJK compatibility ideograph with a canonical equivalent, mapped like its unified form."""
    table: dict[str, str] = {}
    for lo, hi in ((0xF900, 0xFAFF), (0x2F800, 0x2FA1F)):
        for cp in range(lo, hi + 1):
            unified = unicodedata.normalize("NFC", chr(cp))
            if unified != chr(cp):
                table[chr(cp)] = VARIANTS.get(unified, unified)
    return table


_KANJI_FOLD = str.maketrans(_compat_ideographs() | VARIANTS)

# Reading: small kana to full size, reading variants folded, separators and long-vowel marks dropped.
_KANA_FOLD = str.maketrans(
    "ァィゥェォッャュョヮヵヶヂヅヴヷヸヹヺヰヱ", "アイウエオツヤユヨワカケジズブバビベボイエ",
    "・･-‐‑‒–—―−－ー～〜~")
_VU = {"ヴァ": "バ", "ヴィ": "ビ", "ヴェ": "ベ", "ヴォ": "ボ"}


def normalize_kana(text: str) -> str:
    """Reading as compared: オオノ, オーノ, おおの and ｵｰﾉ become near-identical keys."""
    s = jaconv.hira2kata(unicodedata.normalize("NFKC", text))
    for vu, plain in _VU.items():
        s = s.replace(vu, plain)
    s = s.translate(_KANA_FOLD).upper()
    return "".join(c for c in s if "ァ" <= c <= "ヺ" or ("A" <= c <= "Z") or ("0" <= c <= "9"))


def kana_letters(key: str) -> int:
    """How many kana a normalised reading holds (normalize_kana keeps Latin letters and digits,
    which are no reading: 'AAA' or '１２３' is no name key)."""
    return sum("ァ" <= c <= "ヺ" for c in key)


def normalize_kanji(text: str) -> str:
    """Written name as compared: spacing and width unified, 異体字 folded (渡邉 = 渡辺, 伊東 ≠ 伊藤)."""
    s = "".join(_INVISIBLE.sub("", text).split())
    # NFKC outside ideographs only: compatibility ideographs are folded by our tables, which we can read.
    parts = _IDEOGRAPH_RUNS.split(s)
    s = "".join(p if i % 2 else unicodedata.normalize("NFKC", p) for i, p in enumerate(parts))
    return "".join(s.split()).translate(_KANJI_FOLD)


_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
# A numbered part of an address: 丁目, 番地, 番 (not 番町/番丁, which are town names) and 号 (not 号室).
_PART = r"(?:丁目|番地|番(?![町丁])|号(?!室))"
_KANJI_NUMBER = re.compile(rf"[〇一二三四五六七八九十百千]+(?={_PART})")
_HYPHENS = str.maketrans({c: "-" for c in "‐‑‒–—―−－﹣～〜~"})


def _kanji_to_int(numeral: str) -> int:
    """五 → 5, 十二 → 12, 二十三 → 23, 百五 → 105, and 一二 → 12 (digit by digit), up to 9999."""
    total, current = 0, 0
    for c in numeral:
        if c in _KANJI_UNITS:
            total += (current or 1) * _KANJI_UNITS[c]
            current = 0
        else:
            current = current * 10 + _KANJI_DIGITS[c]
    return total + current


def normalize_address(text: str) -> str:
    """Address as compared: 本町５丁目１２番地３号, 本町五丁目十二番三号 and 本町5-12-3 become 本町5-12-3.

    Deliberately simple: kanji numerals are read only directly before 丁目/番地/番/号; 大字, the
    prefecture, building names and room numbers are left as they are; ヶ and ケ are treated alike.
    """
    s = "".join(unicodedata.normalize("NFKC", text).split())
    s = _KANJI_NUMBER.sub(lambda m: str(_kanji_to_int(m.group())), s)
    s = re.sub(rf"(?<=\d){_PART}", "-", s)
    s = re.sub(r"(?<=\d)ー", "-", s.translate(_HYPHENS))  # ー is a hyphen only after a number
    s = re.sub(r"(?<=[\d-])[のノ之](?=\d)", "-", s)  # 12番地の3, 12の3
    s = re.sub(r"-{2,}", "-", s).replace("ヶ", "ケ").replace("ヵ", "ケ")
    return s.rstrip("-")


def normalize_phone(text: str) -> str:
    """Phone as compared: digits only, whatever the hyphens, brackets or width; +81 read as a leading 0."""
    s = unicodedata.normalize("NFKC", text).strip()
    digits = "".join(c for c in s if "0" <= c <= "9")
    if s.startswith("+81"):
        rest = digits[2:]
        digits = rest if rest.startswith("0") else "0" + rest
    return digits


def _bigrams(key: str) -> set[str]:
    padded = f" {key} "  # one space each side, as pg_bigm pads; normalised kana has no spaces
    return {padded[i:i + 2] for i in range(len(padded) - 1)}


def kana_similarity(a: str, b: str) -> float:
    """How alike two readings are, 0..1, to rank and explain candidates the database has already found.

    Dice coefficient over the sets of space-padded character bigrams of the normalised readings, the
    kind of n-gram overlap pg_trgm/pg_bigm compute. PostgreSQL does the candidate search (pg_trgm on the
    stored normalised reading); this function only orders and explains the candidates it returns. The
    scales differ (pg_trgm: Jaccard over trigrams, オノ/オオノ 0.4; here 0.86), so a database threshold
    is not a threshold for this score. An empty reading is no evidence and scores 0.
    """
    ka, kb = normalize_kana(a), normalize_kana(b)
    if not ka or not kb:
        return 0.0
    ba, bb = _bigrams(ka), _bigrams(kb)
    return 2 * len(ba & bb) / (len(ba) + len(bb))


def same_kanji_after_variants(a: str, b: str) -> bool:
    """Whether two written names differ only by spacing, width or 異体字 (an empty name matches nothing)."""
    na = normalize_kanji(a)
    return bool(na) and na == normalize_kanji(b)

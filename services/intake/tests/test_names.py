"""Names typed differently at different windows still meet; different names stay apart; nothing is lost."""

from __future__ import annotations

import random
import unicodedata
from datetime import date

import pytest

from services.intake.domain.names import (
    VARIANTS,
    kana_similarity,
    normalize_address,
    normalize_kana,
    normalize_kanji,
    normalize_phone,
    same_kanji_after_variants,
)
from tests.people import FEMALE_NAMES, MALE_NAMES, SURNAMES, generate, variant_of

COMMON_SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
                   "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水",
                   "山崎", "森", "池田", "橋本", "阿部", "石川", "山下", "中島", "石井", "伊東"]


# --- readings (kana) ------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["ﾜﾀﾅﾍﾞ", "わたなべ", "ワタナベ", "ﾜ ﾀ ﾅ ﾍﾞ", "ワタナベ\n"])
def test_half_width_hiragana_and_katakana_readings_are_the_same(typed: str) -> None:
    assert normalize_kana(typed) == "ワタナベ"


def test_long_vowel_written_as_mark_or_as_vowel_is_close() -> None:
    for a, b in [("オーノ", "オオノ"), ("ｵｰﾉ", "おおの"), ("サトーヒロシ", "サトウヒロシ"),
                 ("ヤマダユーコ", "ヤマダユウコ")]:
        assert kana_similarity(a, b) >= 0.75, (a, b)
    # ー is dropped, not spelled out: on a short reading alone the match is only moderate.
    for a, b in [("ユーコ", "ユウコ"), ("サトー", "サトウ")]:
        assert 0.5 < kana_similarity(a, b) < 0.75, (a, b)
    assert normalize_kana("オーノ") == normalize_kana("ｵｰﾉ") == normalize_kana("おーの")


def test_small_kana_count_as_full_size() -> None:
    assert normalize_kana("キョウコ") == normalize_kana("キヨウコ") == normalize_kana("きょうこ")
    assert normalize_kana("ハットリ") == normalize_kana("ﾊｯﾄﾘ") == "ハツトリ"


def test_reading_variants_fold() -> None:
    assert normalize_kana("イイヅカ") == normalize_kana("イイズカ")
    assert normalize_kana("チヂワ") == normalize_kana("チジワ")
    assert normalize_kana("ヴァイオリン") == normalize_kana("バイオリン")


def test_spaces_dots_and_other_characters_are_dropped() -> None:
    assert normalize_kana("ワタナベ\u3000イチロウ") == normalize_kana("わたなべ いちろう")
    assert normalize_kana("わたなべ いちろう") == "ワタナベイチロウ"
    assert normalize_kana("ジョン・スミス") == normalize_kana("ｼﾞｮﾝ･ｽﾐｽ") == "ジヨンスミス"
    assert normalize_kana("ｍａｒｙ　２世") == "MARY2"


def test_similarity_ranks_identical_first_and_unrelated_last() -> None:
    assert kana_similarity("ワタナベ", "わたなべ") == 1.0
    assert kana_similarity("ワタナベ", "ワタナヘ") > kana_similarity("ワタナベ", "タナカ")
    assert kana_similarity("サトウ", "スズキ") == 0.0
    assert kana_similarity("サトウ", "サイトウ") == kana_similarity("サイトウ", "サトウ")
    assert kana_similarity("", "") == 0.0  # no reading is no evidence


# --- written names (kanji) ------------------------------------------------------------------------

@pytest.mark.parametrize("forms", [
    ("渡辺", "渡邊", "渡邉"), ("高橋", "髙橋"), ("山崎", "山﨑", "山嵜"), ("斎藤", "齋藤", "齊藤", "斉藤"),
    ("浜田", "濱田", "濵田"), ("沢田", "澤田"), ("桜井", "櫻井"), ("広瀬", "廣瀨"), ("島田", "嶋田", "嶌田"),
    ("吉田", "\U00020BB7田"), ("滝沢", "瀧澤"), ("福田", "\uFA1B田"), ("隆", "\uF9DC"),
])
def test_variant_kanji_are_the_same_name(forms: tuple[str, ...]) -> None:
    for form in forms:
        assert same_kanji_after_variants(form, forms[0]), form
        assert normalize_kanji(form) == forms[0]


@pytest.mark.parametrize(("a", "b"), [("伊藤", "伊東"), ("渡辺", "渡部"), ("斎藤", "斉田"), ("宮崎", "宮埼")])
def test_different_names_stay_different_even_when_they_read_alike(a: str, b: str) -> None:
    assert not same_kanji_after_variants(a, b)


def test_伊藤_and_伊東_are_candidates_by_reading_only() -> None:
    assert normalize_kana("イトウ") == normalize_kana("いとう")
    assert normalize_kanji("伊藤") != normalize_kanji("伊東")


def test_spaces_and_width_in_written_names() -> None:
    assert normalize_kanji("渡辺\u3000一郎") == normalize_kanji("渡辺 一郎") == normalize_kanji("渡辺一郎")
    assert normalize_kanji("ＳＭＩＴＨ　ﾀﾛｳ") == "SMITHタロウ"
    assert normalize_kanji("⽥中") == "田中"  # a Kangxi radical, as copied from a PDF
    assert normalize_kanji("葛\U000E0100西") == "葛西"  # an ideographic variation selector
    assert not same_kanji_after_variants("", "")


def test_compatibility_ideographs_match_without_losing_what_was_typed() -> None:
    typed = "山\uFA11\u3000\uFA1B子"  # 山﨑 福子, as a legacy system stores it
    assert normalize_kanji(typed) == "山崎福子"
    assert typed == "山\uFA11\u3000\uFA1B子"  # the stored value is the caller's own, untouched
    assert unicodedata.normalize("NFC", "\uFA1B") == "福"  # why names must never be NFC'd in storage
    assert normalize_kanji("一\uF929") == "一朗" and normalize_kanji("\uFA2C") == normalize_kanji("舘")


def test_variant_table_is_large_one_step_and_keeps_different_names_apart() -> None:
    assert len(VARIANTS) >= 60
    assert not set(VARIANTS.values()) & set(VARIANTS)  # a representative is never itself folded
    for old, rep in VARIANTS.items():
        assert len(old) == len(rep) == 1 and old != rep
    assert "藤" not in VARIANTS and "東" not in VARIANTS and "部" not in VARIANTS


def test_canonical_names_are_never_changed() -> None:
    for name in COMMON_SURNAMES:
        assert normalize_kanji(name) == name
    for name in ["渡邉", "髙橋", "山\uFA11", "齋藤", "濵田", "嶋田", "\uFA1B田"]:
        once = normalize_kanji(name)
        assert normalize_kanji(once) == once


# --- addresses and phones -------------------------------------------------------------------------

@pytest.mark.parametrize("typed", [
    "東京都福生市本町５丁目１２番地３号", "東京都福生市本町5-12-3", "東京都福生市本町五丁目十二番三号",
    "東京都 福生市 本町５－１２－３", "東京都福生市本町5丁目12-3", "東京都福生市本町5ー12ー3",
    "東京都福生市本町5丁目12番地の3",
])
def test_address_forms_are_the_same(typed: str) -> None:
    assert normalize_address(typed) == "東京都福生市本町5-12-3"


def test_address_numbers_in_town_names_are_left_alone() -> None:
    assert normalize_address("東京都福生市熊川二宮12番地") == "東京都福生市熊川二宮12"
    assert normalize_address("千代田区四番町5番地") == "千代田区四番町5"
    assert normalize_address("東京都福生市大字福生一二三四番地") == "東京都福生市大字福生1234"
    assert normalize_address("霞ヶ関1-2-3") == normalize_address("霞ケ関1丁目2番3号")


@pytest.mark.parametrize("typed", ["042-551-1511", "０４２（５５１）１５１１", "042 551 1511",
                                   "+81 42-551-1511"])
def test_phone_is_digits_only(typed: str) -> None:
    assert normalize_phone(typed) == "0425511511"


# --- the synthetic people used by the benchmark ----------------------------------------------------

def test_synthetic_people_are_deterministic_and_repeat_common_names() -> None:
    assert len(SURNAMES) >= 150 and len(MALE_NAMES) + len(FEMALE_NAMES) >= 150
    assert all(normalize_kanji(k) == k for k, _ in SURNAMES + MALE_NAMES + FEMALE_NAMES)
    people = generate(500, seed=3)
    assert people == generate(500, seed=3) and people != generate(500, seed=4)
    assert len({p.family_kanji + p.given_kanji for p in people}) < len(people)  # names repeat
    assert len({(p.family_kanji + p.given_kanji, p.birth_date) for p in people}) == len(people)


def test_variants_are_still_the_same_person() -> None:
    rng = random.Random(11)
    people = generate(1000)
    variants = [variant_of(p, rng) for p in people]
    missing, similarities = 0, []
    for p, v in zip(people, variants, strict=True):
        assert v["birth_date"] in (p.birth_date, None)
        missing += v["birth_date"] is None
        assert same_kanji_after_variants(f"{v['family_kanji']}{v['given_kanji']}",
                                         p.family_kanji + p.given_kanji)
        similarities.append(kana_similarity(f"{v['family_kana']}{v['given_kana']}",
                                            p.family_kana + p.given_kana))
        assert isinstance(v["address"], str) and v["address"].startswith("東京都福生市")
    assert missing <= 0.10 * len(people)
    assert min(similarities) > 0.3 and sum(similarities) / len(similarities) > 0.85  # hard, not hopeless
    assert any(v != variant_of(p, random.Random(0)) for p, v in zip(people[:20], variants, strict=True))
    assert isinstance(people[0].birth_date, date)

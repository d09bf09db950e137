"""One home, however a partner wrote its address, compares equal; another home does not."""

from __future__ import annotations

import pytest

from services.outreach.domain.addresses import kanji_number, normalise, normalise_name

SAME_HOME = [
    "東京都福生市加美平三丁目4番地5号",
    "福生市加美平３－４－５",
    "〒197-0003 東京都 福生市 加美平3丁目4番5号",
    "１９７－０００３　福生市加美平３丁目４番５号",
    "福生市加美平三丁目四番五号",
    "福生市加美平3丁目4‐5",
    "福生市加美平3ー4ー5",
    "福生市加美平3の4の5",
]


@pytest.mark.parametrize("written", SAME_HOME)
def test_every_way_of_writing_one_home_is_one_address(written: str) -> None:
    assert normalise(written) == "福生市加美平3-4-5"


@pytest.mark.parametrize(("written", "expected"), [
    ("福生市大字熊川字下河原一二三番地", "福生市熊川下河原123"),  # 大字/字, digit-by-digit kanji
    ("東京都八王子市四谷町十二番地の三", "八王子市四谷町12-3"),  # place names keep their kanji
    ("神奈川県横浜市中区山下町２７０ー１　コーポ１０１", "横浜市中区山下町270-1コーポ101"),
    ("福生市本町二十三番", "福生市本町23"),
])
def test_forms(written: str, expected: str) -> None:
    assert normalise(written) == expected


def test_another_home_is_another_address() -> None:
    assert normalise("福生市加美平3-4-6") != normalise("福生市加美平3-4-5")
    assert normalise("福生市加美平3-14-5") != normalise("福生市加美平3-4-5")
    assert normalise("福生市加美平四丁目4番5号") != normalise("福生市加美平3-4-5")


@pytest.mark.parametrize(("kanji", "n"), [("一", 1), ("十", 10), ("十二", 12), ("二十三", 23),
                                          ("百五", 105), ("千二百", 1200), ("一〇五", 105),
                                          ("九百九十九", 999)])
def test_kanji_numerals(kanji: str, n: int) -> None:
    assert kanji_number(kanji) == n


def test_names_compare_without_width_or_spaces() -> None:
    assert normalise_name("山田　太郎") == normalise_name("山田太郎") == normalise_name(" 山田 太郎 ")
    assert normalise_name("ﾔﾏﾀﾞ") == normalise_name("ヤマダ")

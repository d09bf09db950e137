"""Synthetic residents of a Fussa-like city, for identity-linking (名寄せ) tests and the benchmark.

Deterministic for a seed. Common names repeat, as they do in a real city (many 佐藤 and many 陽子, some
of them in one household), so only the combination with birth date and address tells people apart.
`variant_of` is how the same person may be typed at another window. Nobody here is real.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

import asyncpg
import jaconv

from services.intake.domain import matching, names
from services.intake.domain.names import VARIANTS, normalize_kanji
from services.intake.domain.persons import Identity, deletions, match_keys
from services.intake.store import persons as store


def _pairs(table: str) -> list[tuple[str, str]]:
    return [(k, r) for k, r in (item.split(":") for item in table.split())]


# Surnames, roughly by frequency (the generator weights earlier ones more). Readings are the usual ones.
SURNAMES = _pairs("""
佐藤:サトウ 鈴木:スズキ 高橋:タカハシ 田中:タナカ 伊藤:イトウ 渡辺:ワタナベ 山本:ヤマモト 中村:ナカムラ
小林:コバヤシ 加藤:カトウ 吉田:ヨシダ 山田:ヤマダ 佐々木:ササキ 山口:ヤマグチ 松本:マツモト 井上:イノウエ
木村:キムラ 林:ハヤシ 斎藤:サイトウ 清水:シミズ 山崎:ヤマザキ 森:モリ 池田:イケダ 橋本:ハシモト 阿部:アベ
石川:イシカワ 山下:ヤマシタ 中島:ナカジマ 石井:イシイ 小川:オガワ 前田:マエダ 岡田:オカダ 長谷川:ハセガワ
藤田:フジタ 後藤:ゴトウ 近藤:コンドウ 村上:ムラカミ 遠藤:エンドウ 青木:アオキ 坂本:サカモト 福田:フクダ
太田:オオタ 西村:ニシムラ 藤井:フジイ 金子:カネコ 岡本:オカモト 藤原:フジワラ 中野:ナカノ 三浦:ミウラ
原田:ハラダ 中川:ナカガワ 松田:マツダ 竹内:タケウチ 小野:オノ 田村:タムラ 中山:ナカヤマ 和田:ワダ
石田:イシダ 森田:モリタ 上田:ウエダ 原:ハラ 内田:ウチダ 柴田:シバタ 酒井:サカイ 宮崎:ミヤザキ 横山:ヨコヤマ
高木:タカギ 安藤:アンドウ 宮本:ミヤモト 大野:オオノ 小島:コジマ 谷口:タニグチ 今井:イマイ 工藤:クドウ
高田:タカダ 増田:マスダ 丸山:マルヤマ 杉山:スギヤマ 村田:ムラタ 大塚:オオツカ 新井:アライ 小山:コヤマ
平野:ヒラノ 藤本:フジモト 河野:コウノ 上野:ウエノ 野口:ノグチ 武田:タケダ 松井:マツイ 千葉:チバ
岩崎:イワサキ 菅原:スガワラ 木下:キノシタ 久保:クボ 佐野:サノ 野村:ノムラ 松尾:マツオ 市川:イチカワ
菊地:キクチ 杉本:スギモト 古川:フルカワ 大西:オオニシ 島田:シマダ 水野:ミズノ 桜井:サクライ 高野:タカノ
渡部:ワタナベ 吉川:ヨシカワ 山内:ヤマウチ 西田:ニシダ 飯田:イイダ 菊池:キクチ 西川:ニシカワ 小松:コマツ
北村:キタムラ 安田:ヤスダ 五十嵐:イガラシ 川口:カワグチ 平田:ヒラタ 関:セキ 中田:ナカタ 久保田:クボタ
服部:ハットリ 東:アズマ 岩田:イワタ 土屋:ツチヤ 川崎:カワサキ 福島:フクシマ 本田:ホンダ 辻:ツジ
樋口:ヒグチ 秋山:アキヤマ 田口:タグチ 永井:ナガイ 山中:ヤマナカ 中西:ナカニシ 吉村:ヨシムラ 川上:カワカミ
石原:イシハラ 大橋:オオハシ 松岡:マツオカ 馬場:ババ 浜田:ハマダ 森本:モリモト 矢野:ヤノ 浅野:アサノ
伊東:イトウ 沢田:サワダ 広瀬:ヒロセ 柳沢:ヤナギサワ 長田:ナガタ 高山:タカヤマ 吉岡:ヨシオカ 小池:コイケ
星野:ホシノ 荒木:アラキ 大久保:オオクボ 松下:マツシタ 富田:トミタ 滝沢:タキザワ 岡崎:オカザキ 尾崎:オザキ
黒沢:クロサワ 大島:オオシマ 真鍋:マナベ 徳永:トクナガ 渡部:ワタベ 曽根:ソネ 神田:カンダ 国分:コクブン
""")
MALE_NAMES = _pairs("""
翔太:ショウタ 大輔:ダイスケ 健太:ケンタ 拓也:タクヤ 直樹:ナオキ 誠:マコト 浩:ヒロシ 隆:タカシ 茂:シゲル
清:キヨシ 実:ミノル 勇:イサム 進:ススム 博:ヒロシ 一郎:イチロウ 健一:ケンイチ 正人:マサト 和夫:カズオ
秀樹:ヒデキ 大樹:ダイキ 蓮:レン 湊:ミナト 陽翔:ハルト 悠真:ユウマ 大翔:ヒロト 颯太:ソウタ 悠人:ユウト
陸:リク 海斗:カイト 翔:ショウ 樹:イツキ 拓海:タクミ 涼:リョウ 亮:リョウ 太郎:タロウ 次郎:ジロウ
三郎:サブロウ 修:オサム 明:アキラ 豊:ユタカ 稔:ミノル 弘:ヒロシ 勝:マサル 正:タダシ 武:タケシ 剛:ツヨシ
聡:サトシ 達也:タツヤ 竜也:タツヤ 和也:カズヤ 哲也:テツヤ 雄一:ユウイチ 浩二:コウジ 健二:ケンジ
康弘:ヤスヒロ 義男:ヨシオ 幸雄:ユキオ 俊介:シュンスケ 祐介:ユウスケ 雄太:ユウタ 慎吾:シンゴ 翼:ツバサ
優:ユウ 航:ワタル 圭:ケイ 光:ヒカル 栄一:エイイチ 満:ミツル 琢磨:タクマ 恭平:キョウヘイ 修平:シュウヘイ
亮太:リョウタ 駿:シュン 晴人:ハルト 隼人:ハヤト 大地:ダイチ 徹:トオル 孝:タカシ 竜之介:リュウノスケ
朗:アキラ 靖:ヤスシ 禎:タダシ 福太郎:フクタロウ 真一:シンイチ 広志:ヒロシ 徳男:トクオ 寿:ヒサシ
""")
FEMALE_NAMES = _pairs("""
陽子:ヨウコ 恵子:ケイコ 幸子:サチコ 和子:カズコ 洋子:ヨウコ 美智子:ミチコ 節子:セツコ 京子:キョウコ
久美子:クミコ 裕子:ユウコ 優子:ユウコ 由美子:ユミコ 真由美:マユミ 直美:ナオミ 明美:アケミ 恵:メグミ
愛:アイ 舞:マイ 彩:アヤ 美咲:ミサキ さくら:サクラ 陽菜:ヒナ 結衣:ユイ 葵:アオイ 凛:リン 結菜:ユイナ
芽依:メイ 莉子:リコ 美月:ミツキ 花子:ハナコ 智子:トモコ 典子:ノリコ 由美:ユミ 麻衣:マイ 千尋:チヒロ
彩花:アヤカ 真理:マリ 真由:マユ 弥生:ヤヨイ 晴美:ハルミ 禎子:サダコ 福子:フクコ 寿子:ヒサコ 栄子:エイコ
恵美:エミ 美穂:ミホ 香織:カオリ 沙織:サオリ 理恵:リエ 奈緒:ナオ 綾:アヤ 瞳:ヒトミ 純子:ジュンコ
順子:ジュンコ 文子:フミコ 静香:シズカ 千代:チヨ 悦子:エツコ 敏子:トシコ 信子:ノブコ 照子:テルコ
光子:ミツコ 春子:ハルコ 秋子:アキコ 美紀:ミキ 友美:トモミ 亜希子:アキコ 紀子:ノリコ 桃子:モモコ
菜々子:ナナコ 杏:アン 紬:ツムギ 澪:ミオ 心春:コハル 楓:カエデ 遥:ハルカ 愛子:アイコ 祐子:ユウコ
琴音:コトネ 都:ミヤコ 佳子:ヨシコ 千里:チサト 満子:ミツコ 瑞穂:ミズホ 桜子:サクラコ
""")
GIVEN_NAMES = MALE_NAMES + FEMALE_NAMES

CITY = "東京都福生市"
# Fussa-like town names (not an authoritative list) and how many 丁目 each has (0: 番地 addresses).
TOWNS: tuple[tuple[str, int], ...] = (
    ("本町", 0), ("福生", 0), ("加美平", 4), ("熊川", 0), ("熊川二宮", 0), ("北田園", 2), ("南田園", 3),
    ("志茂", 0), ("牛浜", 0), ("武蔵野台", 2), ("東町", 0), ("福東", 0), ("福生二宮", 0), ("大字福生", 0),
    ("大字熊川", 0), ("田園", 3), ("睦町", 2), ("富士見町", 3), ("五日市街道", 0), ("第二", 0))

# Reverse of VARIANTS: for a representative kanji, the old forms it may be typed in.
OLD_FORMS: dict[str, tuple[str, ...]] = {}
for _old, _rep in VARIANTS.items():
    OLD_FORMS[_rep] = (*OLD_FORMS.get(_rep, ()), _old)

# Kana rows (行) for typos, and the vowel of each kana for long-vowel spellings.
_ROWS = ("アイウエオ", "カキクケコ", "ガギグゲゴ", "サシスセソ", "ザジズゼゾ", "タチツテト", "ダヂヅデド",
         "ナニヌネノ", "ハヒフヘホ", "バビブベボ", "パピプペポ", "マミムメモ", "ヤユヨ", "ラリルレロ")
_ROW_OF = {c: row for row in _ROWS for c in row}
_VOWEL = {c: "aiueo"[i] if len(row) == 5 else "auo"[i] for row in _ROWS for i, c in enumerate(row)}
_VOWEL |= {"ャ": "a", "ュ": "u", "ョ": "o"}
_LONG = {("a", "ア"), ("i", "イ"), ("u", "ウ"), ("e", "エ"), ("o", "オ"), ("o", "ウ"), ("e", "イ")}
_NAME_VARIATIONS = ("variant_kanji", "half_width", "hiragana", "long_vowel", "kana_typo", "one_field",
                    "address_format")


@dataclass(frozen=True)
class SyntheticPerson:
    key: int
    family_kanji: str
    given_kanji: str
    family_kana: str
    given_kana: str
    birth_date: date
    address: str
    phone: str


def _cum_weights(n: int, skew: float) -> list[float]:
    return list(accumulate(1 / (rank + 1) ** skew for rank in range(n)))


_SURNAME_W = _cum_weights(len(SURNAMES), 0.5)
_MALE_W, _FEMALE_W = _cum_weights(len(MALE_NAMES), 0.5), _cum_weights(len(FEMALE_NAMES), 0.5)


def _address(rng: random.Random) -> str:
    town, chome = rng.choice(TOWNS)
    if chome:
        return f"{CITY}{town}{rng.randint(1, chome)}丁目{rng.randint(1, 30)}番{rng.randint(1, 25)}号"
    tail = f"{rng.randint(1, 30)}" if rng.random() < 0.4 else ""
    return f"{CITY}{town}{rng.randint(1, 2999)}番地{tail}"


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"042-55{rng.randint(1, 3)}-{rng.randint(0, 9999):04d}"
    return f"0{rng.choice('789')}0-{rng.randint(0, 9999):04d}-{rng.randint(0, 9999):04d}"


def generate(n: int, seed: int = 7) -> list[SyntheticPerson]:
    """`n` distinct people: names repeat, (name, birth date) never does; about a quarter share a household."""
    rng = random.Random(seed)
    people: list[SyntheticPerson] = []
    seen: set[tuple[str, date]] = set()
    while len(people) < n:
        male = rng.random() < 0.5
        given_kanji, given_kana = rng.choices(MALE_NAMES if male else FEMALE_NAMES,
                                              cum_weights=_MALE_W if male else _FEMALE_W)[0]
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(33_000))  # to 2020
        if people and rng.random() < 0.25:  # a household member: same surname, address and phone
            h = rng.choice(people)
            family_kanji, family_kana, address, phone = h.family_kanji, h.family_kana, h.address, h.phone
        else:
            family_kanji, family_kana = rng.choices(SURNAMES, cum_weights=_SURNAME_W)[0]
            address, phone = _address(rng), _phone(rng)
        unique = (normalize_kanji(family_kanji + given_kanji), birth)
        if unique in seen:
            continue
        seen.add(unique)
        people.append(SyntheticPerson(len(people) + 1, family_kanji, given_kanji, family_kana, given_kana,
                                      birth, address, phone))
    return people


def _long_vowel_spots(kana: str) -> list[int]:
    """Where a vowel lengthens the kana before it (オオノ, ユウコ, サトウ), but not イノウエ's ウ."""
    return [i for i in range(1, len(kana))
            if (_VOWEL.get(kana[i - 1]), kana[i]) in _LONG and kana[i + 1:i + 2] not in ("エ", "オ")]


def _typo(kana: str, rng: random.Random) -> str:
    """One slip: a neighbouring kana of the same row, or a dropped kana."""
    spots = [i for i, c in enumerate(kana) if c in _ROW_OF]
    if not spots:
        return kana[:-1] if len(kana) > 2 else kana
    i = rng.choice(spots)
    if len(kana) > 2 and rng.random() < 0.3:
        return kana[:i] + kana[i + 1:]
    row = _ROW_OF[kana[i]]
    j = row.index(kana[i])
    neighbours = [row[k] for k in (j - 1, j + 1) if 0 <= k < len(row)]
    return kana[:i] + rng.choice(neighbours) + kana[i + 1:]


def _kanji_numeral(n: int) -> str:
    digits = "〇一二三四五六七八九"
    if n >= 100:
        return "".join(digits[int(d)] for d in str(n))
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else "十" if tens == 1 else digits[tens] + "十") + (digits[ones] if ones else "")


def _reformat(address: str, rng: random.Random) -> str:
    """The same address written another way: 5-12-3, full-width digits, or kanji numerals."""
    city, rest = address[:len(CITY)], address[len(CITY):]
    style = rng.choice(("hyphen", "full_width", "kanji"))
    if style == "hyphen":
        return city + re.sub(r"(丁目|番地|番|号)(?=\d|$)", "-", rest).rstrip("-")
    if style == "full_width":
        return city + rest.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return city + re.sub(r"\d+(?=丁目|番|号)", lambda m: _kanji_numeral(int(m.group())), rest)


def variant_of(p: SyntheticPerson, rng: random.Random) -> dict[str, object]:
    """The same person as typed at another window: 1–2 realistic variations, never a wrong birth date.

    Keys: family_kanji, given_kanji, family_kana, given_kana, birth_date (a date or None), address.
    "one_field" is a window with a single 氏名 field: the whole name, 姓 and 名 separated by a full-width
    space, is in family_kanji/family_kana and the given_* values are empty.
    """
    fk, gk, fn, gn = p.family_kanji, p.given_kanji, p.family_kana, p.given_kana
    birth: date | None = p.birth_date
    address = p.address
    chosen = [k for k, chance in (("no_birth_date", 0.07), ("moved", 0.10)) if rng.random() < chance]
    want = rng.choice((1, 2))
    for kind in rng.sample(_NAME_VARIATIONS, len(_NAME_VARIATIONS)):
        if len(chosen) >= want:
            break
        if kind == "variant_kanji" and not any(c in OLD_FORMS for c in fk + gk):
            continue
        if kind == "long_vowel" and not (_long_vowel_spots(fn) or _long_vowel_spots(gn)):
            continue
        if kind in ("half_width", "hiragana") and {"half_width", "hiragana"} & set(chosen):
            continue
        chosen.append(kind)
    if "variant_kanji" in chosen:
        i = rng.choice([i for i, c in enumerate(fk + gk) if c in OLD_FORMS])
        if i < len(fk):
            fk = fk[:i] + rng.choice(OLD_FORMS[fk[i]]) + fk[i + 1:]
        else:
            j = i - len(fk)
            gk = gk[:j] + rng.choice(OLD_FORMS[gk[j]]) + gk[j + 1:]
    if "long_vowel" in chosen:
        spots = [(0, i) for i in _long_vowel_spots(fn)] + [(1, i) for i in _long_vowel_spots(gn)]
        which, i = rng.choice(spots)
        if which == 0:
            fn = fn[:i] + "ー" + fn[i + 1:]
        else:
            gn = gn[:i] + "ー" + gn[i + 1:]
    if "kana_typo" in chosen:  # one typo, in the family OR the given reading
        if rng.random() < 0.5:
            fn = _typo(fn, rng)
        else:
            gn = _typo(gn, rng)
    if "half_width" in chosen:
        fn, gn = jaconv.z2h(fn, kana=True), jaconv.z2h(gn, kana=True)
    if "hiragana" in chosen:
        fn, gn = jaconv.kata2hira(fn), jaconv.kata2hira(gn)
    if "one_field" in chosen:
        fk, gk, fn, gn = f"{fk}\u3000{gk}", "", f"{fn}\u3000{gn}", ""
    if "no_birth_date" in chosen:
        birth = None
    if "moved" in chosen:
        while address == p.address:
            address = _address(rng)
    if "address_format" in chosen:
        address = _reformat(address, rng)
    return {"family_kanji": fk, "given_kanji": gk, "family_kana": fn, "given_kana": gn,
            "birth_date": birth, "address": address}


# The columns of the INSERT in services/intake/store/persons.py `add`, in its order.
PERSON_COLUMNS = ("id", "municipality", "family_name", "given_name", "family_kana", "given_kana", "kana_key",
                  "kanji_key", "kana_deletions", "birth_date", "sex", "address", "address_key", "phone",
                  "phone_key", "atena_number", "registered_agency", "registered_by", "registered_at")


def identity_of(p: SyntheticPerson) -> Identity:
    return Identity(family_name=p.family_kanji, given_name=p.given_kanji, family_kana=p.family_kana,
                    given_kana=p.given_kana, birth_date=p.birth_date, address=p.address, phone=p.phone)


async def load_people(conn: asyncpg.Connection, people: Sequence[SyntheticPerson],
                      municipality: str = "132187", agency: str = "bench") -> list[uuid.UUID]:
    """Insert `people` into intake's persons table with one COPY, keys computed as registration does
    (match_keys); returns their new ids, in the order of `people`. For tests and the benchmark only:
    no events, no audit, registered_by "generator"."""
    at = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in people]
    records = []
    for pid, p in zip(ids, people, strict=True):
        i = identity_of(p)
        k = match_keys(i)
        records.append((pid, municipality, i.family_name, i.given_name, i.family_kana, i.given_kana,
                        k.kana_key, k.kanji_key, list(k.kana_deletions), i.birth_date, i.sex, i.address,
                        k.address_key, i.phone, k.phone_key, i.atena_number, agency, "generator", at))
    await conn.copy_records_to_table("persons", records=records, columns=PERSON_COLUMNS)
    return ids


def probe_of(variant: dict[str, object]) -> matching.Probe:
    """The probe GET /persons/candidates (services/intake/api/persons.py) builds for a record as
    `variant_of` returns it (which has no phone and no person number)."""
    address = variant.get("address")
    birth = variant.get("birth_date")
    return matching.Probe(
        kana_key=names.normalize_kana(str(variant["family_kana"]) + str(variant["given_kana"])),
        kanji_key=names.normalize_kanji(str(variant["family_kanji"]) + str(variant["given_kanji"])),
        birth_date=birth if isinstance(birth, date) else None,
        address_key=names.normalize_address(str(address)) if address else None)


async def search(conn: asyncpg.Connection, variant: dict[str, object], municipality: str = "132187",
                 limit: int = 5) -> list[matching.Candidate]:
    """The candidate search of GET /persons/candidates without HTTP, its rate limit and its audit:
    the same probe, the same blocking SQL (store.candidates), the same ranking."""
    probe = probe_of(variant)
    known = await store.candidates(conn, municipality, probe, [probe.kana_key, *deletions(probe.kana_key)])
    return matching.rank(probe, known, limit)

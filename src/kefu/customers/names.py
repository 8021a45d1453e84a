"""Search keys of a customer's name: the name itself, its full pinyin and its initials
(张三 → 张三, zhangsan, zs), used for prefix search on an indexed column.

pypinyin reads a character as it is most often read, which is wrong for many surnames (单 is
Shàn, 曾 Zēng, 查 Zhā, 解 Xiè, 区 Ōu, 仇 Qiú, 朴 Piáo …). `SURNAMES` overrides the first
character(s) of a person's name; where a surname has two readings in use (乐 Yuè / Lè, 盖 Gě /
Gài), keys are made for each, so either spelling finds the customer. Compound surnames (欧阳,
万俟, 尉迟 …) are read as one unit. Enterprise names are read as they are (单县 is a place).
"""

from __future__ import annotations

import re
import unicodedata

from pypinyin import lazy_pinyin

# Surname → its readings as a surname, the usual one first.
SURNAMES: dict[str, tuple[str, ...]] = {
    "单": ("shan",),
    "曾": ("zeng",),
    "查": ("zha",),
    "解": ("xie",),
    "区": ("ou",),
    "仇": ("qiu",),
    "朴": ("piao",),
    "乐": ("yue", "le"),
    "盖": ("ge", "gai"),
    "缪": ("miao",),
    "繁": ("po",),
    "翟": ("zhai",),
    "种": ("chong",),
    "秘": ("bi",),
    "覃": ("qin", "tan"),
    "隗": ("wei",),
    "员": ("yun",),
    "召": ("shao",),
    "句": ("gou",),
    "能": ("nai",),
    "尉": ("wei", "yu"),
    "洗": ("xian",),
    "阚": ("kan",),
    "祭": ("zhai",),
    "乜": ("nie",),
    "黑": ("he",),
    "藏": ("zang",),
    "蕃": ("pi",),
    "佴": ("nai",),
    "厍": ("she",),
    "折": ("she",),
    "便": ("pian",),
    "柏": ("bai",),
    "薄": ("bo",),
    "贲": ("ben",),
    "沈": ("shen",),
    "万俟": ("moqi",),
    "尉迟": ("yuchi",),
    "长孙": ("zhangsun",),
    "单于": ("chanyu",),
    "澹台": ("tantai",),
    "令狐": ("linghu",),
    "皇甫": ("huangfu",),
    "欧阳": ("ouyang",),
    "上官": ("shangguan",),
    "司马": ("sima",),
    "诸葛": ("zhuge",),
    "夏侯": ("xiahou",),
    "东方": ("dongfang",),
    "慕容": ("murong",),
    "宇文": ("yuwen",),
    "公孙": ("gongsun",),
    "轩辕": ("xuanyuan",),
    "钟离": ("zhongli",),
    "司徒": ("situ",),
    "呼延": ("huyan",),
    "端木": ("duanmu",),
    "南宫": ("nangong",),
    "西门": ("ximen",),
}
# The initial of a compound surname's reading, syllable by syllable.
_COMPOUND_INITIALS = {
    "moqi": "mq",
    "yuchi": "yc",
    "zhangsun": "zs",
    "chanyu": "cy",
    "tantai": "tt",
    "linghu": "lh",
    "huangfu": "hf",
    "ouyang": "oy",
    "shangguan": "sg",
    "sima": "sm",
    "zhuge": "zg",
    "xiahou": "xh",
    "dongfang": "df",
    "murong": "mr",
    "yuwen": "yw",
    "gongsun": "gs",
    "xuanyuan": "xy",
    "zhongli": "zl",
    "situ": "st",
    "huyan": "hy",
    "duanmu": "dm",
    "nangong": "ng",
    "ximen": "xm",
}
MAX_KEY = 100
_KEEP = re.compile(r"[^0-9a-z]")


def fold(text: str) -> str:
    """Search text folded the way keys are: NFKC, lower case, no spaces or punctuation."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(ch for ch in folded if ch.isalnum())


def _syllables(text: str) -> list[tuple[str, str]]:
    """(reading, initial) of each unit of `text`; non-Chinese runs are kept as they are."""
    units = []
    for part in lazy_pinyin(text, errors=lambda s: s):
        token = _KEEP.sub("", part.lower())
        if token:
            units.append((token, token[0]))
    return units


def surname_split(name: str) -> tuple[str, str]:
    """(surname override key, rest); the key is "" when the surname needs no override."""
    if name[:2] in SURNAMES:
        return name[:2], name[2:]
    if name[:1] in SURNAMES:
        return name[:1], name[1:]
    return "", name


def readings(name: str, *, person: bool) -> list[tuple[str, str]]:
    """Every (full pinyin, initials) the name may be searched by, the usual reading first."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    surname, rest = surname_split(name) if person else ("", name)
    tail = _syllables(rest)
    tail_full = "".join(r for r, _ in tail)
    tail_initials = "".join(i for _, i in tail)
    if not surname:
        return [(tail_full[:MAX_KEY], tail_initials[:MAX_KEY])]
    found = []
    for reading in SURNAMES[surname]:
        initials = _COMPOUND_INITIALS.get(reading, reading[0])
        found.append(((reading + tail_full)[:MAX_KEY], (initials + tail_initials)[:MAX_KEY]))
    return found


def search_keys(name: str, *, person: bool) -> set[tuple[str, str]]:
    """(kind, key) rows for the name index: `name`, `pinyin` and `initials` keys."""
    keys = {("name", fold(name)[:MAX_KEY])}
    for full, initials in readings(name, person=person):
        keys.add(("pinyin", full))
        keys.add(("initials", initials))
    return {(kind, key) for kind, key in keys if key}


def display_pinyin(name: str, *, person: bool) -> str:
    """The usual reading, syllables spaced (for lists and the 360 header): 单田芳 → shan tian fang."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    surname, rest = surname_split(name) if person else ("", name)
    parts = [SURNAMES[surname][0]] if surname else []
    parts += [r for r, _ in _syllables(rest)]
    return " ".join(parts)[:200]


__all__ = ["SURNAMES", "display_pinyin", "fold", "readings", "search_keys", "surname_split"]

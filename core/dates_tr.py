"""Turkish date words, rewritten into the English forms core.dates reads.

The text arrives folded (lower case with Turkish İ/I rules, diacritics dropped), so
`Yarın`, `yarın` and `yarin` all arrive as `yarin`. Day and month names (`cuma`,
`aralık`) need no rewriting: core.dates takes them from Babel's Turkish locale.
"""
from __future__ import annotations

import re
import unicodedata

_NUMBERS = {
    "bir": "1", "iki": "2", "uc": "3", "dort": "4", "bes": "5",
    "alti": "6", "yedi": "7", "sekiz": "8", "dokuz": "9", "on": "10",
}
_UNITS = {
    "gun": "days", "hafta": "weeks", "ay": "months", "yil": "years", "sene": "years",
    "saat": "hours", "dakika": "minutes", "dk": "minutes",
}
_PERIODS = {"hafta": "week", "ay": "month", "ceyrek": "quarter", "yil": "year", "sene": "year"}
_WHICH = {"bu": "this", "gelecek": "next", "onumuzdeki": "next", "gecen": "last", "haftaya": "next"}
_WORDS = {"bugun": "today", "yarin": "tomorrow", "dun": "yesterday"}

_NUM = "|".join(_NUMBERS)
_IN_UNITS = re.compile(rf"\b(\d{{1,5}}|{_NUM}) ({'|'.join(_UNITS)})(?: (?:sonra|icinde))?\b")
_THIS_PERIOD = re.compile(rf"\b({'|'.join(_WHICH)}) ({'|'.join(_PERIODS)})\b")
# `ay sonu` is end of month; `hafta sonu` is the weekend, not end of week, so it is left out
_END_OF = re.compile(r"\b(ay|ceyrek|yil|sene) sonu(?:na kadar)?\b")
_QUARTER = re.compile(r"\b([1-4])\.? ceyrek\b")
_CLOCK = re.compile(r"\bsaat (\d{1,2})(?:[:.](\d{2}))?\b")
_DAY_AFTER = re.compile(r"\b(?:obur gun|yarindan sonra)\b")
_ON_DAY = re.compile(r"\b(\S+) gunu\b")  # `cuma günü` is just `cuma`


def fold(text: str, turkish: bool) -> str:
    """Lower case (Turkish İ/I rules when `turkish`), no diacritics or commas, single spaces.

    Dropping diacritics lets `carsamba` match `çarşamba`; the dotless ı has none to drop.
    """
    if turkish:
        text = text.replace("I", "ı").replace("İ", "i")
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c)).replace("ı", "i")
    return " ".join(text.replace(",", " ").split())


def to_english(text: str) -> str:
    """`3 gün sonra` -> `in 3 days`, `gelecek cuma` -> `next cuma`, `ay sonu` -> `eom`."""
    s = _DAY_AFTER.sub("day after tomorrow", text)
    s = _CLOCK.sub(lambda m: f"at {m[1]}:{m[2] or '00'}", s)
    s = _IN_UNITS.sub(lambda m: f"in {_NUMBERS.get(m[1], m[1])} {_UNITS[m[2]]}", s)
    s = _END_OF.sub(lambda m: f"end of {_PERIODS[m[1]]}", s)
    s = _QUARTER.sub(r"q\1", s)
    s = _THIS_PERIOD.sub(lambda m: f"{_WHICH[m[1]]} {_PERIODS[m[2]]}", s)
    s = _ON_DAY.sub(r"\1", s)
    if s == "haftaya":
        return "next week"  # alone it is the period; before a day name it means `next`
    return " ".join(_WHICH.get(word, _WORDS.get(word, word)) for word in s.split())

"""Turkish words for the commands' words (issue 13): `/deal yeni …` is `/deal new …`.

Every subcommand of /deal, /lead, /pipeline and /salesbot, and the fixed words after them
(scopes, activity kinds, roles, option names), has a Turkish name. Words are compared folded:
lower case by Turkish rules (`I` is `ı`, `İ` is `i`) and then without diacritics, so `GÖSTER`,
`göster` and `goster` all name `show`, and the English `LIST` still reads as `list`.
"""
from __future__ import annotations

from collections.abc import Mapping

_PLAIN = str.maketrans({"ı": "i", "ç": "c", "ğ": "g", "ö": "o", "ş": "s", "ü": "u", "â": "a", "î": "i",
                        "û": "u", "\u0307": None})


def fold(word: str) -> str:
    """`word` lower-cased by Turkish rules and stripped of diacritics (`GÖSTER` -> `goster`)."""
    return word.replace("İ", "i").replace("I", "ı").lower().translate(_PLAIN)


def _folded(table: Mapping[str, str]) -> dict[str, str]:
    return {fold(k): v for k, v in table.items()}


# Turkish -> English, written with their diacritics; matched folded.
DEAL = _folded({
    "yeni": "new", "oluştur": "new", "liste": "list", "listele": "list", "göster": "show", "düzenle": "edit",
    "aşama": "stage", "taşı": "stage", "kazan": "won", "kazanıldı": "won", "kaybet": "lost",
    "kaybedildi": "lost", "aç": "reopen", "yeniden": "reopen", "not": "note", "kaydet": "log",
    "hatırlat": "remind", "paylaş": "share", "indirim": "discount", "yardım": "help",
})
LEAD = _folded({
    "yeni": "new", "ekle": "add", "liste": "list", "listele": "list", "göster": "show", "ata": "assign",
    "dönüştür": "convert", "reddet": "disqualify", "yardım": "help",
})
PIPELINE = _folded({
    "benim": "mine", "ekip": "team", "takım": "team", "tahmin": "forecast", "özet": "digest", "yardım": "help",
})
SALESBOT = _folded({
    "ekip": "team", "takım": "team", "rol": "role", "kota": "quota", "bağla": "link", "kurulum": "setup",
    "aşamalar": "pipeline", "hat": "pipeline", "kur": "rate", "tercihler": "prefs", "yardım": "help",
})
# The words after a subcommand.
SCOPES = _folded({"benim": "mine", "ekip": "team", "takım": "team", "hepsi": "all", "tümü": "all"})
LEAD_LISTS = _folded({"sıcak": "hot", "benim": "mine", "yeni": "new", "açık": "open"})
TEAM_ACTIONS = _folded({"liste": "list", "oluştur": "create", "ekle": "add", "kanal": "channel"})
ROLES = _folded({"temsilci": "rep", "yönetici": "manager", "yetkili": "admin"})
ACTIVITIES = _folded({"arama": "call", "telefon": "call", "e-posta": "email", "eposta": "email",
                      "toplantı": "meeting", "sunum": "demo", "teklif": "proposal"})
OPTIONS = _folded({"aşama": "stage", "kapanış": "close", "kapanan": "closing", "kaynak": "source"})


def english(table: Mapping[str, str], word: str) -> str:
    """The English word `word` stands for in `table` (Turkish or English, any case); else `word` folded."""
    folded = fold(word)
    return table.get(folded, folded)

"""Text from people and machines made plain before it is stored (issue 12).

Bidirectional controls (U+202A–202E, U+2066–2069, U+200E/200F) let a title pose as another
("‮cod.exe" shows as "exe.doc"); zero-width characters (U+200B–200D, U+2060, U+FEFF) make two
titles that look the same differ. Both are removed from titles and names on input, by every
path: commands, modals, webhooks and CSV imports all reach `clean_name` through the core
services. Other control characters (NUL included, which PostgreSQL refuses in text) go too.
"""

from __future__ import annotations

import re

INVISIBLE = (
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
    "\u200e\u200f"  # LRM RLM
    "\u200b\u200c\u200d\u2060\ufeff"  # ZWSP ZWNJ ZWJ WJ BOM
)
_DROP = dict.fromkeys(map(ord, INVISIBLE))
# C0 and C1 controls but tab, newline and carriage return (those are whitespace).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """`text` without invisible formatting characters and control characters (lines kept)."""
    return _CONTROLS.sub("", text.translate(_DROP))


def clean_name(text: str) -> str:
    """A title or a name on one line: `clean_text`, every run of whitespace made one space, trimmed."""
    return " ".join(clean_text(text).split())

"""Reading slash-command text: words, quoted strings, `name:value` options and mentions.

Slack sends `@user` and `#channel` as `<@U123|name>` and `<#C123|name>` when a command is
declared with `should_escape: true`; a bare `U123` (or `@U123`) is understood too. It also
HTML-escapes `&`, `<` and `>` in the rest of the text, which we undo. Anything that cannot
be read raises InvalidInput with a message that says what was expected; nothing else is
raised for any input (tests/bot/test_parsing.py checks that with hypothesis).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bot.commands.aliases import OPTIONS as OPTION_ALIASES
from bot.commands.aliases import fold
from core.errors import InvalidInput
from core.i18n import N_, _

T = TypeVar("T")

MAX_COMMAND_TEXT = 4000
OPTION_NAMES = ("stage", "close", "closing", "source")
QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201d", "\u00ab": "\u00bb"}

_USER_ESCAPED = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_ESCAPED = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>")
_OTHER_ESCAPED = re.compile(r"<[!][^>]*>")
# A bare id needs a digit: `USA` or `WEST` are words, `U123` and `U07ABCDE` are people.
_BARE_USER = re.compile(r"@?([UW](?=[A-Z0-9]*\d)[A-Z0-9]{2,})")
_BARE_CHANNEL = re.compile(r"#?([CG](?=[A-Z0-9]*\d)[A-Z0-9]{2,})")
# `name:value`; the name is one of OPTION_NAMES or its Turkish (`aşama:`, `kapanış:`), any case.
_OPTION = re.compile(r"(\w[\w-]*):(.*)", re.DOTALL)


def option_name(word: str) -> str | None:
    """The English option `word` names (`stage`, `AŞAMA`, `asama`), or None."""
    folded = fold(word)
    name = OPTION_ALIASES.get(folded, folded)
    return name if name in OPTION_NAMES else None


def unescape(text: str) -> str:
    """Undo Slack's escaping of &, < and > in message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(frozen=True)
class Token:
    """One piece of command text.

    kind is "word", "option" (name and value), "user" or "channel" (value is the Slack id).
    `quoted` marks a word (or option value) that came in quotes: it is taken literally.
    """

    kind: str
    value: str
    name: str = ""
    quoted: bool = False

    @property
    def is_plain_word(self) -> bool:
        return self.kind == "word" and not self.quoted


def _split(text: str) -> list[tuple[str, bool, str]]:
    """Split on whitespace, keeping quoted runs together: [(piece, quoted, text before the quote)].

    `stage:"closed won"` gives ("stage:closed won", True, "stage:"): an option with a quoted
    value; `"stage:x"` gives ("stage:x", True, ""): a literal word.
    """
    pieces: list[tuple[str, bool, str]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        current: list[str] = []
        quoted = False
        before = ""
        while i < n and not text[i].isspace():
            ch = text[i]
            if ch in QUOTES:
                close = QUOTES[ch]
                end = text.find(close, i + 1)
                if end < 0 and close != '"':
                    end = text.find('"', i + 1)
                if end < 0:
                    raise InvalidInput(
                        _('A quote opened at `{start}` is not closed. Put multi-word values in "double quotes".')
                        .format(start=text[start:start + 20])
                    )
                if not quoted:
                    before = "".join(current)
                current.append(text[i + 1 : end])
                quoted = True
                i = end + 1
                continue
            current.append(ch)
            i += 1
        pieces.append(("".join(current), quoted, before))
    return pieces


def tokenize(text: str) -> list[Token]:
    """Tokens of a command's text; InvalidInput for an unclosed quote or over-long text."""
    text = text or ""
    if len(text) > MAX_COMMAND_TEXT:
        raise InvalidInput(_("That command is {length} characters long; keep it under {limit}.").format(
            length=len(text), limit=MAX_COMMAND_TEXT))
    # Mentions become single pieces even when Slack put spaces in the label.
    text = _USER_ESCAPED.sub(lambda m: f" \x00U{m.group(1)} ", text)
    text = _CHANNEL_ESCAPED.sub(lambda m: f" \x00C{m.group(1)} ", text)
    if _OTHER_ESCAPED.search(text):
        raise InvalidInput(_("Mention people one by one with @name; groups like @here or @team are not understood."))
    tokens: list[Token] = []
    pending_option: str | None = None
    for piece, quoted, before in _split(text):
        if piece.startswith("\x00U") and not quoted:
            tokens.append(Token("user", piece[2:]))
            continue
        if piece.startswith("\x00C") and not quoted:
            tokens.append(Token("channel", piece[2:]))
            continue
        piece = unescape(piece.replace("\x00", ""))
        if pending_option is not None:
            # `stage: proposal` — the value is the next piece.
            tokens.append(Token("option", piece, name=pending_option, quoted=quoted))
            pending_option = None
            continue
        m = _OPTION.fullmatch(piece)
        name = option_name(m.group(1)) if m else None
        if m and name and (not quoted or fold(before) == fold(m.group(1)) + ":"):
            value = m.group(2)
            if value == "" and not quoted:
                pending_option = name
            else:
                tokens.append(Token("option", value, name=name, quoted=quoted))
            continue
        if not quoted:
            if m := _BARE_USER.fullmatch(piece):
                tokens.append(Token("user", m.group(1)))
                continue
            if m := _BARE_CHANNEL.fullmatch(piece):
                tokens.append(Token("channel", m.group(1)))
                continue
        tokens.append(Token("word", piece, quoted=quoted))
    if pending_option is not None:
        raise InvalidInput(_("`{option}:` needs a value, e.g. `{option}:{example}`.").format(
            option=pending_option, example=_example(pending_option)))
    return tokens


def _example(option: str) -> str:
    examples = {"stage": N_("proposal"), "close": N_("next friday"), "closing": N_("this month"),
                "source": N_("referral")}
    return _(examples.get(option, N_("value")))


@dataclass
class Args:
    """Command text read into positional words, options and mentions (in order of appearance)."""

    words: list[Token] = field(default_factory=list)
    options: dict[str, Token] = field(default_factory=dict)
    users: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    # For options whose value may run over several words (`close:next friday`), the plain
    # words that directly follow each option, as indexes into `words`.
    trailing: dict[str, list[int]] = field(default_factory=dict)

    def word_texts(self) -> list[str]:
        return [t.value for t in self.words]

    def option(self, name: str) -> str | None:
        token = self.options.get(name)
        return token.value if token else None


def read_args(text: str) -> Args:
    """Tokenize and group; an option given twice is an error (which one did they mean?)."""
    args = Args()
    last_option: str | None = None
    for token in tokenize(text):
        if token.kind == "option":
            if token.name in args.options:
                raise InvalidInput(_("`{option}:` is given twice; give it once.").format(option=token.name))
            args.options[token.name] = token
            args.trailing[token.name] = []
            last_option = token.name if not token.quoted else None
        elif token.kind == "user":
            args.users.append(token.value)
            last_option = None
        elif token.kind == "channel":
            args.channels.append(token.value)
            last_option = None
        else:
            if last_option is not None and token.is_plain_word:
                args.trailing[last_option].append(len(args.words))
            else:
                last_option = None
            args.words.append(token)
    return args


def resolve_option(args: Args, name: str, parse: Callable[[str], T]) -> T | None:
    """Parse option `name`, letting an unquoted value take the plain words after it.

    `close:next friday 12k` reads "next friday" as the date and leaves "12k": the longest run
    of following words that still parses wins. The words used are removed from args.words.
    The error of the shortest form is raised when nothing parses.
    """
    token = args.options.get(name)
    if token is None:
        return None
    follow = args.trailing.get(name, []) if not token.quoted else []
    for k in range(len(follow), 0, -1):
        candidate = " ".join([token.value, *(args.words[i].value for i in follow[:k])])
        try:
            value = parse(candidate)
        except InvalidInput:
            continue
        used = set(follow[:k])
        args.words = [w for i, w in enumerate(args.words) if i not in used]
        _shift_trailing(args, used)
        return value
    return parse(token.value)


def _shift_trailing(args: Args, removed: set[int]) -> None:
    for key, indexes in args.trailing.items():
        args.trailing[key] = [i - sum(1 for r in removed if r < i) for i in indexes if i not in removed]


def longest_prefix(words: Sequence[str], parse: Callable[[str], T], max_words: int = 6) -> tuple[T, int]:
    """Parse the longest leading run of `words` (up to max_words); return (value, words used).

    Raises the InvalidInput of the one-word form when no run parses.
    """
    if not words:
        raise InvalidInput(_("Something is missing here."))
    for k in range(min(len(words), max_words), 1, -1):
        try:
            return parse(" ".join(words[:k])), k
        except InvalidInput:
            continue
    return parse(words[0]), 1


_MAGNITUDES = r"k|m|mn|mm|b|bn|bin|milyon|milyar|mn|mr|mio|mrd|thousand|million|billion|trillion"
_AMOUNT_SHAPE = re.compile(
    rf"[-+−]?(?:[$€£₺¥₹]|[A-Za-z]{{3}})?[-+−]?[.,]?\d[\d.,'’\u00a0]*(?:{_MAGNITUDES})?"
    r"(?:[$€£₺¥₹]|[A-Za-z]{3}|tl)?", re.IGNORECASE,  # `3rd` or `2nd` stay words of a title
)
_CURRENCY_WORD = re.compile(r"[A-Za-z]{2,3}|[$€£₺¥₹]")
_MAGNITUDE_WORD = re.compile(_MAGNITUDES, re.IGNORECASE)
_CODE = re.compile(r"[A-Z]{3}")


def looks_like_amount(word: str) -> bool:
    """A word shaped like an amount (`12k`, `$12,000`, `12.000₺`, `-5`), valid or not."""
    return bool(_AMOUNT_SHAPE.fullmatch(word)) and any(c.isdigit() for c in word)


def _followers(words: list[Token], i: int) -> int:
    """How many words after words[i] may belong to its amount: `12 bin`, `12000 EUR`, `3 milyon TL`."""
    n = 0
    if i + 1 < len(words) and words[i + 1].is_plain_word and _MAGNITUDE_WORD.fullmatch(words[i + 1].value):
        n = 1
    j = i + 1 + n
    if j < len(words) and words[j].is_plain_word and _CURRENCY_WORD.fullmatch(words[j].value):
        n += 1
    return n


def split_amount(words: list[Token], parse: Callable[[str], T]) -> tuple[T | None, list[Token]]:
    """Take the rightmost amount-shaped word (with a magnitude or currency word after it) out of `words`.

    Returns (amount or None, the remaining words). An amount-shaped word that does not
    parse (`-5k`, `1.2.3`) raises its InvalidInput instead of becoming part of a title.
    """
    for i in range(len(words) - 1, -1, -1):
        token = words[i]
        if not token.is_plain_word or not looks_like_amount(token.value):
            continue
        for extra in range(_followers(words, i), 0, -1):
            try:
                text = " ".join(t.value for t in words[i : i + 1 + extra])
                return parse(text), words[:i] + words[i + 1 + extra :]
            except InvalidInput:
                if _CODE.fullmatch(words[i + extra].value):
                    raise  # `12 XYZ`: three capitals after an amount are a currency code, a wrong one
        return parse(token.value), words[:i] + words[i + 1 :]
    return None, words

"""Text for the full-text index 全文索引: normalising (繁→简), segmenting into single CJK
characters and latin/digit words, parsing the query syntax, and highlighting snippets.

Both backends index the same token stream: every CJK character (incl. Extension B and beyond)
is a token of its own, latin letters and digits form words (lower case), everything else
separates. A query term becomes a phrase of its tokens, so a 1-, 2- or n-character query
matches exactly where those characters stand next to each other — no dictionary needed, and
nothing missed because a word segmenter cut differently on the two sides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from itertools import pairwise

from django.utils.translation import gettext as _

# CJK ideographs (basic, Ext A, compatibility, Ext B–H in planes 2 and 3), kana, Hangul
# syllables, CJK symbols that are letters (〇). Each becomes a token of its own.
_CJK = (
    "\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
_CJK_RE = re.compile(f"([{_CJK}])")
# A token: one CJK character, or a run of other letters/digits.
_TOKEN_RE = re.compile(f"[{_CJK}]|(?:(?![{_CJK}])[^\\W_])+")
# Private-use characters never reach the index from users' text (the field separator is one).
_PRIVATE_RE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")

#: Stands between two fields in one index column, so that a phrase never spans two fields
#: (the end of a title and the start of a responsible). A private-use letter: a token for
#: both tokenizers, and stripped from queries so nobody can search for it.
FIELD_SEP = "\U000f0001"
#: Written into the index of every item the public may see (open, public, not in a closed
#: volume) and required by the public's queries, so that the index itself skips what the
#: public cannot see (4 of 5 items) instead of the item table refusing them one by one. Only a
#: pre-filter: the item table's conditions still decide. Private use, like FIELD_SEP: nobody
#: can type it into a query.
PUBLIC_TOKEN = "\U000f0002"  # noqa: S105 (an index token, not a secret)


class SearchQueryError(ValueError):
    """A query that cannot be run (检索式错误); the message is for the user."""


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """Simplified (繁→简, OpenCC t2s) and lower case: the form both the index and the query
    are compared in."""
    if not text:
        return ""
    return _converter().convert(text).lower()


# BMP CJK characters are spaced by str.translate (C speed: ~10x a regex substitution, which
# was most of the reindex time); the rare characters beyond the BMP by a regex, only when
# the text has any.
_BMP_RANGES = (
    (0x3007, 0x3007),
    (0x3040, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
)
_SPACED = {cp: f" {chr(cp)} " for low, high in _BMP_RANGES for cp in range(low, high + 1)}
_ASTRAL_RE = re.compile("([\U00020000-\U0003134f])")


def _space(text: str) -> str:
    text = text.translate(_SPACED)
    if _ASTRAL_RE.search(text):
        text = _ASTRAL_RE.sub(r" \1 ", text)
    return text


def segment(text: str) -> str:
    """Normalised text with a space either side of every CJK character, ready for the
    unicode61 tokenizer (which splits on the spaces and on punctuation)."""
    if not text:
        return ""
    return _space(_PRIVATE_RE.sub(" ", normalize(text)))


def segment_fields(values: list[str]) -> list[str]:
    """``segment`` of several fields with one OpenCC call and one pass (the reindex path)."""
    joined = FIELD_SEP.join(_PRIVATE_RE.sub(" ", v) for v in values)
    return _space(normalize(joined)).split(FIELD_SEP)


def _is_cjk_char(chunk: str) -> bool:
    if len(chunk) != 1:
        return False
    cp = ord(chunk)
    return cp in _SPACED or 0x20000 <= cp <= 0x3134F


def bigrams(seg: str) -> str:
    """The character bigrams 二元组 of segmented text, in token order: ``人 民 政 府`` gives
    ``人民 民政 政府``. A query term of n ≥ 2 CJK characters is then a phrase of n-1 bigrams,
    whose posting lists are far shorter than those of single characters (a common character
    is in a third of all items; most of its bigrams in few). Bigrams follow the token stream,
    so punctuation between two characters does not part them (as for the phrase of single
    characters); where the next token is not a CJK character (a word, a number, a field
    separator) a FIELD_SEP stands in, so that no two bigrams become neighbours that were not."""
    out: list[str] = []
    prev = ""
    broken = False
    for chunk in seg.split():
        if _is_cjk_char(chunk):
            if prev:
                if broken and out:
                    out.append(FIELD_SEP)
                out.append(prev + chunk)
                broken = False
            prev = chunk
        elif chunk == FIELD_SEP or any(ch.isalnum() for ch in chunk):
            prev = ""  # a word, a number or another field: the run of characters ends
            broken = True
        # punctuation alone is no token: it neither ends nor starts anything
    return " ".join(out)


def with_bigrams(seg: str) -> str:
    """Segmented text followed by its bigrams, kept apart by FIELD_SEP (one index column
    holds both: single characters for 1-character terms, bigrams for longer ones)."""
    pairs = bigrams(seg)
    return f"{seg} {FIELD_SEP} {pairs}" if pairs else seg


def index_query(parsed: ParsedQuery) -> ParsedQuery:
    """The query as the index is searched with bigrams: every term of two or more CJK
    characters becomes the phrase of its bigrams; other terms (one character, words, numbers,
    mixed) stay phrases of their tokens. Highlighting keeps using ``parsed``."""

    def convert(toks: list[str]) -> list[str]:
        if len(toks) >= 2 and all(_is_cjk_char(t) for t in toks):
            return [a + b for a, b in pairwise(toks)]
        return toks

    return ParsedQuery(
        raw=parsed.raw,
        positive=[convert(t) for t in parsed.positive],
        negative=[convert(t) for t in parsed.negative],
        required=list(parsed.required),
    )


def join_fields(values) -> str:
    """Several fields as one index column, kept apart by FIELD_SEP (already normalised)."""
    return f" {FIELD_SEP} ".join(segment(v) for v in values if v)


def tokens(text: str) -> list[str]:
    """The tokens of already-segmented text (what the tokenizer sees), FIELD_SEP included."""
    return _TOKEN_RE.findall(text) if FIELD_SEP not in text else _tokens_with_sep(text)


def _tokens_with_sep(text: str) -> list[str]:
    out: list[str] = []
    for i, part in enumerate(text.split(FIELD_SEP)):
        if i:
            out.append(FIELD_SEP)
        out.extend(_TOKEN_RE.findall(part))
    return out


def query_tokens(term: str) -> list[str]:
    """Tokens of one query term: normalised and segmented like the index."""
    return _TOKEN_RE.findall(_PRIVATE_RE.sub(" ", normalize(term)))


# --- query syntax -------------------------------------------------------------------------


@dataclass
class Term:
    tokens: list[str]
    negated: bool = False
    text: str = ""  # as typed, for messages


@dataclass
class ParsedQuery:
    """AND of ``positive`` phrases, none of ``negative`` ones."""

    raw: str
    positive: list[list[str]] = field(default_factory=list)
    negative: list[list[str]] = field(default_factory=list)
    #: Tokens every match must hold besides the user's terms (the scope, e.g. PUBLIC_TOKEN);
    #: never highlighted.
    required: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.positive and not self.negative


_QUERY_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
MAX_QUERY_CHARS = 200
MAX_TERMS = 16


def parse_query(raw: str) -> ParsedQuery:
    """Parse the query syntax 检索式: words separated by spaces must all occur (AND);
    ``"..."`` is a phrase; ``-word`` / ``-"phrase"`` or ``NOT word`` must not occur. A
    Chinese term is always matched as a phrase of its characters. Raises SearchQueryError."""
    raw = (raw or "").strip()
    parsed = ParsedQuery(raw=raw)
    if not raw:
        return parsed
    if len(raw) > MAX_QUERY_CHARS:
        raise SearchQueryError(_("检索式过长（最多 %(n)d 个字符）。") % {"n": MAX_QUERY_CHARS})
    negate_next = False
    for match in _QUERY_RE.finditer(raw):
        minus, phrase, word = match.groups()
        if phrase is not None:
            negated = bool(minus) or negate_next
            text = phrase
        else:
            if word == "NOT":
                negate_next = True
                continue
            if word in ("AND", "&&"):
                continue
            negated = negate_next
            if word.startswith("-") and len(word) > 1:
                negated, word = True, word[1:]
            text = word
        negate_next = False
        toks = query_tokens(text)
        if not toks:
            continue  # punctuation only: nothing to look for
        (parsed.negative if negated else parsed.positive).append(toks)
    if len(parsed.positive) + len(parsed.negative) > MAX_TERMS:
        raise SearchQueryError(_("检索词过多（最多 %(n)d 个）。") % {"n": MAX_TERMS})
    if parsed.negative and not parsed.positive:
        raise SearchQueryError(_("请至少输入一个不带减号（-）或 NOT 的检索词。"))
    if parsed.empty:
        raise SearchQueryError(_("检索式中没有可检索的文字或数字。"))
    return parsed


def exact_candidate(raw: str) -> str | None:
    """The query as a possible 档号 / 文号 (one term, no operators), else None."""
    raw = (raw or "").strip().strip('"').strip()
    if not raw or " " in raw or raw.startswith("-") or len(raw) > 100:
        return None
    return raw


# --- snippets -----------------------------------------------------------------------------


def _phrase_pattern(toks: list[str]) -> str:
    # Between two tokens of a phrase the original may have spaces or punctuation (Z002-WS).
    return r"[\W_]*".join(re.escape(t) for t in toks)


@lru_cache(maxsize=512)
def _highlight_re(phrases: tuple[tuple[str, ...], ...]) -> re.Pattern | None:
    if not phrases:
        return None
    # Longest first, so "国家档案" wins over "国".
    ordered = sorted(phrases, key=lambda p: -sum(len(t) for t in p))
    return re.compile("|".join(_phrase_pattern(list(p)) for p in ordered))


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in spans:
        out.append(escape(text[pos:start]))
        out.append("<mark>" + escape(text[start:end]) + "</mark>")
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def highlight(text: str, phrases: list[list[str]], *, width: int = 0) -> str:
    """``text`` escaped, with every occurrence of a phrase in <mark>; with ``width`` only a
    window of about that many characters around the first occurrence (… at cut ends).
    Matching is done on the normalised text (繁 matches 简), shown in the original."""
    text = text or ""
    norm = normalize(text)
    if len(norm) != len(text):  # a conversion changed the length: show the normalised form
        text = norm
    pattern = _highlight_re(tuple(tuple(p) for p in phrases))
    if not width:
        spans = [m.span() for m in pattern.finditer(norm)] if pattern is not None else []
        return _marked(text, [s for s in spans if s[1] > s[0]])
    # A snippet needs the first occurrence and those inside its window only: a long text
    # (OCR of many pages) is not scanned to its end for a common character.
    first = None
    if pattern is not None:
        for m in pattern.finditer(norm):
            if m.end() > m.start():
                first = m.start()
                break
    if first is None:
        cut = text[:width]
        return escape(cut) + ("…" if len(text) > width else "")
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    inner = []
    for m in pattern.finditer(norm, first):  # the first occurrence is the leftmost one
        s, e = m.span()
        if s >= end:
            break
        if e > s:
            inner.append((max(s, start) - start, min(e, end) - start))
    html = _marked(text[start:end], inner)
    return ("…" if start > 0 else "") + html + ("…" if end < len(text) else "")


def has_match(text: str, phrases: list[list[str]]) -> bool:
    pattern = _highlight_re(tuple(tuple(p) for p in phrases))
    return bool(pattern and pattern.search(normalize(text or "")))

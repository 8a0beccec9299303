"""Snippets 摘要: the window around the first occurrence, found without scanning a long text
to its end, is the same as one cut from every occurrence of the whole text."""

from __future__ import annotations

import random
from html import escape
from pathlib import Path

import pytest

from lantai.search import text as tx

CORPUS = Path("/work/shared/testdata/chinese-text")


def whole_scan(text: str, phrases: list[list[str]], width: int) -> str:
    """The snippet as cut from every occurrence in the text (the reference)."""
    norm = tx.normalize(text)
    if len(norm) != len(text):
        text = norm
    pattern = tx._highlight_re(tuple(tuple(p) for p in phrases))
    spans = [m.span() for m in pattern.finditer(norm)] if pattern is not None else []
    spans = [s for s in spans if s[1] > s[0]]
    if not spans:
        return escape(text[:width]) + ("…" if len(text) > width else "")
    first = spans[0][0]
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    inner = [
        (max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start
    ]
    html = tx._marked(text[start:end], inner)
    return ("…" if start > 0 else "") + html + ("…" if end < len(text) else "")


def texts() -> list[str]:
    found = []
    if CORPUS.is_dir():
        for path in sorted(CORPUS.rglob("*.txt"))[:20]:
            found.append(path.read_text(encoding="utf-8", errors="replace")[:20_000])
    rnd = random.Random(5)
    alphabet = "档案馆國家檔案人民政府，。 Z002-WS·2011"
    found += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 400))) for _ in range(60)]
    return found


@pytest.mark.parametrize("width", [20, 80, 160])
def test_snippets_equal_the_whole_text_scan(width):
    rnd = random.Random(width)
    for text in texts():
        norm = tx.normalize(text)
        for _n in range(6):
            length = rnd.randint(1, 4)
            start = rnd.randrange(max(1, len(norm) - length + 1)) if norm else 0
            piece = norm[start : start + length] or "档"
            phrases = [tx.query_tokens(piece) or ["档"]]
            if rnd.random() < 0.3:
                phrases.append(["国"])
            assert tx.highlight(text, phrases, width=width) == whole_scan(text, phrases, width)
    assert tx.highlight("", [["档"]], width=width) == ""

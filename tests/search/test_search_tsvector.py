"""The PostgreSQL tsvector literal is built from the same tokens as the FTS5 index
(``text.tokens``), with positions, weights and a gap at every field separator, and the
character bigrams of adjacent CJK characters at the first one's position."""

from __future__ import annotations

from lantai.search.backends import tsvector_literal
from lantai.search.text import FIELD_SEP, _is_cjk_char, join_fields, segment, tokens


def _reference(title: str, meta: str, body: str) -> str:
    positions: dict[str, list[str]] = {}
    pos = 0
    for text, weight in ((title, "A"), (meta, "B"), (body, "")):
        pos += 1
        prev = ""
        for tok in tokens(text):
            pos += 1
            if tok == FIELD_SEP:
                prev = ""
                continue
            positions.setdefault(tok[:200], []).append(f"{pos}{weight}")
            if _is_cjk_char(tok):
                if prev:
                    positions.setdefault(prev + tok, []).append(f"{pos - 1}{weight}")
                prev = tok
            else:
                prev = ""
    return " ".join(f"'{tok}':{','.join(slots)}" for tok, slots in positions.items())


def test_literal_matches_the_token_stream():
    cases = [
        ("國家檔案館關於開展工作的通知", ["Z109-WS·2011-Y-BGS-0001", "兰政发〔2011〕12号"], ""),
        ("Annual report 2011 国家", ["ARCHIVES", "張三", "x_y-z"], "全文 text"),
        ("罕见字𠀀与𡒄的档案", [], "a" * 250 + " 〇 ⅰⅱ"),
        ("", ["", "1.2.3 v2,3;4"], ""),
    ]
    for title, fields, body in cases:
        meta = join_fields(fields)  # the fields kept apart by FIELD_SEP, as the index does
        title, body = segment(title), segment(body)
        assert tsvector_literal(title, meta, body) == _reference(title, meta, body)
    assert FIELD_SEP in join_fields(["甲", "乙"])

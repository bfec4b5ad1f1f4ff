"""The words of a subject as the document search indexes them, and as a query names them.

Vietnamese is written with diacritics that operators often leave out when they
type, and Unicode has two spellings of most accented letters. A subject is
indexed as its words in lower case and NFC, each followed by its folded form
(diacritics removed, `đ` as `d`) when that differs: `Hội nghị` is stored as
`hội hoi nghị nghi`. A query word is looked up as typed (lower case, NFC), so
`hoi` finds every spelling (`hội`, `hồi`, `hơi`) and `hội` finds only `hội`.
Words are runs of letters and digits; everything else separates them, so the
text is safe inside a full-text query (PostgreSQL `to_tsquery`, SQLite FTS5).
"""

from __future__ import annotations

import re
import unicodedata

from signing.package import Header

__all__ = ["fold", "search_columns", "subject_words", "words_of"]

_WORD = re.compile(r"[^\W_]+")


def words_of(text: str) -> list[str]:
    """The words of `text` in lower case and NFC, in order (repeats kept)."""
    lowered = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).lower())
    return _WORD.findall(lowered)


def fold(word: str) -> str:
    """`word` without its diacritics: `nghị` → `nghi`, `đồng` → `dong`."""
    decomposed = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def subject_words(subject: str | None) -> str | None:
    """The search column of a subject: each distinct word, then its folded form if different."""
    if subject is None:
        return None
    indexed: dict[str, None] = {}
    for word in words_of(subject):
        indexed[word] = None
        indexed[fold(word)] = None
    return " ".join(indexed)


def search_columns(header: Header) -> dict[str, str | None]:
    """The header fields the document search reads from columns, not from the package: the
    subject in NFC (Vietnamese has two spellings of most accented letters in Unicode) and
    its words as the full-text index reads them."""
    return {
        "number": header.code.number,
        "notation": header.code.notation,
        "subject": unicodedata.normalize("NFC", header.subject),
        "subject_words": subject_words(header.subject),
        "doc_type": header.type,
    }

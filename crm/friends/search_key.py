"""The text a name search looks in: the display name without spaces, then the staff's reading (ふりがな) of it,
separated by U+001F (which no search term holds, so no match spans both). Derived in SQL from the friend's
columns, so every writer of a display name keeps the index of migration 0035 in step.

The reading is stored in its search form (`reading_form`: NFKC, hiragana, lower case, no spaces), so 「サトウ
ケンタ」 typed by staff is kept as 「さとうけんた」. On PostgreSQL the key also folds the name's katakana to
hiragana; SQLite's triggers cannot, so there a katakana name is found by its own katakana (or by a reading)."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import String, case, func

SEPARATOR = "\x1f"
SPACES = re.compile(r"[\s\u3000]+")
# Katakana ァ (U+30A1) to ヶ (U+30F6) and the hiragana ぁ (U+3041) to ゖ (U+3096) at the same offsets.
KATAKANA = "".join(chr(code) for code in range(0x30A1, 0x30F7))
HIRAGANA = "".join(chr(code) for code in range(0x3041, 0x3097))
TO_HIRAGANA = str.maketrans(KATAKANA, HIRAGANA)
HIRAGANA_RE = re.compile(f"[{HIRAGANA}]")
KATAKANA_CLASS = f"[{KATAKANA[0]}-{KATAKANA[-1]}]"  # a PostgreSQL regular expression: the letters translated
READING_MAX_CHARS = 100


def without_spaces(text: str) -> str:
    """The text with every space (half- and full-width) removed."""
    return SPACES.sub("", text or "")


def reading_form(text: str | None) -> str:
    """A reading or a search term folded as readings are stored: NFKC (half-width kana and full-width letters
    become ordinary ones), lower case, katakana as hiragana, no spaces."""
    return without_spaces(unicodedata.normalize("NFKC", text or "")).lower().translate(TO_HIRAGANA)


def search_terms(term: str, dialect: str) -> list[str]:
    """The forms a typed term is looked up in (any of them matches): as typed without spaces (names), and in
    reading form (readings; on PostgreSQL names too, whose key is folded the same way but for NFKC)."""
    plain = without_spaces(term).replace(SEPARATOR, "")
    typed = plain.lower().translate(TO_HIRAGANA) if dialect == "postgresql" else plain
    terms = [typed, reading_form(plain)]
    return [one for index, one in enumerate(terms) if one and one not in terms[:index]]


def key_sql(name, reading):
    """SQLite's key expression (the PostgreSQL index uses the SQL function friend_search_key)."""
    spaceless = func.replace(func.replace(func.coalesce(name, ""), " ", ""), "\u3000", "", type_=String)
    return spaceless.concat(SEPARATOR).concat(func.coalesce(reading, "", type_=String))


def contains_sql(name, reading, term: str):
    """PostgreSQL: the key (friend_search_key) contains the term, a term in its search form (`search_terms`).

    Row by row this avoids friend_search_key's katakana `translate`, which costs ~10 µs per name (most of a
    walk's time): a term without hiragana matches the name whatever its katakana became, and a name without
    katakana is its own translation; only a hiragana term is looked up in the translated key of a katakana name.
    """
    plain = func.strpos(func.lower(key_sql(name, reading)), func.lower(term))
    if not HIRAGANA_RE.search(term):
        return plain > 0
    translated = func.strpos(func.lower(func.friend_search_key(name, reading)), func.lower(term))
    return case((name.op("~")(KATAKANA_CLASS), translated), else_=plain) > 0

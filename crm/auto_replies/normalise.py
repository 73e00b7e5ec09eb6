"""The form texts and keywords are compared in: width, case, kana and (when a rule says so) spaces folded.

NFKC turns full-width letters and digits (ＡＢＣ１２３) into ASCII and half-width kana (ｶﾀｶﾅ) into full-width;
case-folding makes "ABC" and "abc" one; katakana folds to hiragana, because shops' friends write 「よやく」 and
「ヨヤク」 for the same word (and no shop keyword depends on the difference); the emoji variation selectors
are dropped, so ❤️ and ❤ are one. With `ignore_spaces`, every space goes (「営業 時間」 matches 「営業時間」).
"""

from __future__ import annotations

import re
import unicodedata

KATAKANA_FIRST, KATAKANA_LAST = 0x30A1, 0x30F6  # ァ … ヶ; their hiragana sit 0x60 lower
KANA_SHIFT = 0x60
_KATAKANA_TO_HIRAGANA = {code: code - KANA_SHIFT for code in range(KATAKANA_FIRST, KATAKANA_LAST + 1)}
_VARIATION_SELECTORS = dict.fromkeys((0xFE0E, 0xFE0F))
_SPACES = re.compile(r"\s+")


def normalise(text: str | None, *, ignore_spaces: bool = False) -> str:
    """The text as rules compare it (see the module docstring); surrounding spaces always go."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    folded = folded.translate(_KATAKANA_TO_HIRAGANA).translate(_VARIATION_SELECTORS)
    if ignore_spaces:
        return _SPACES.sub("", folded)
    return _SPACES.sub(" ", folded).strip()

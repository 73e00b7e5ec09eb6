"""Reading an uploaded CSV of friends' tags, fields and notes: decoding, structure checks, column suggestions.

Files come from spreadsheets and other LINE tools (Lステップ, L Message, Liny...): UTF-8 with or without a
BOM, or Shift_JIS (read as CP932, its Windows superset). Decoding tries UTF-8 strictly, then CP932; the rows
are parsed by Python's csv module. Row numbers are the file's record numbers, the header being row 1.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from crm.errors import N_, TranslatableError

IGNORE, USER_ID, TAGS, NOTE, READING, FIELD_PREFIX = "ignore", "user_id", "tags", "note", "reading", "field:"
LINE_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
MAX_COLUMNS = 200
SNIFF_ROWS = 20
# Column names (normalised by norm_name) that other tools and our own export use.
USER_ID_NAMES = {"userid", "lineuserid", "lineユーザーid", "ユーザーid", "lineuid", "uid", "友だちid"}
TAG_NAMES = {"タグ", "tag", "tags", "タグ一覧", "付与タグ", "対応マーク", "対応ステータス"}
NOTE_NAMES = {"個別メモ", "メモ", "note", "notes", "備考", "memo", "コメント"}
READING_NAMES = {"ふりがな", "フリガナ", "よみがな", "ヨミガナ", "読み", "よみ", "読みがな", "reading", "furigana"}
FIELD_PREFIXES = ("友だち情報", "友達情報", "friend information", "field:", "field")
# Anything else (表示名, システム表示名: LINE's profile owns them) is ignored unless a field has its name.


class CsvImportError(TranslatableError):
    """A file that cannot be imported at all; nothing was stored."""


@dataclass(frozen=True)
class ParsedFile:
    """A decoded, structurally sound CSV."""

    text: str
    encoding: str
    header: list[str]
    rows: int  # data records (blank ones included)


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read with ("utf-8", "utf-8-sig" or "cp932")."""
    if not data.strip():
        raise CsvImportError(N_("The file is empty."))
    if b"\x00" in data:
        raise CsvImportError(N_("This is not a CSV text file (it contains binary data)."))
    for encoding in ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8", "cp932"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise CsvImportError(
        N_("The file could not be read as UTF-8 or Shift_JIS text. Save it as CSV (UTF-8) and try again.")
    )


def records(text: str) -> Iterator[list[str]]:
    """Every CSV record of the text, the header first (csv.Error becomes CsvImportError)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        yield from reader
    except csv.Error as error:
        raise CsvImportError(
            N_("Row %(row)d is not valid CSV (%(detail)s)."), row=reader.line_num, detail=str(error)
        ) from None


def data_rows(text: str, start: int = 0) -> Iterator[tuple[int, int, list[str]]]:
    """(record index, row number, cells) of the data records from index `start`, skipping blank ones."""
    for index, cells in enumerate(records(text)):
        if index == 0 or index - 1 < start:
            continue
        if any(cell.strip() for cell in cells):
            yield index - 1, index + 1, cells


def parse(data: bytes) -> ParsedFile:
    """Decode and check a whole file: a header, equal-length rows, a column of LINE user ids."""
    text, encoding = decode(data)
    header, rows, sample = None, 0, []
    for index, cells in enumerate(records(text)):
        if header is None:
            header = [cell.strip() for cell in cells]
            _check_header(header)
            continue
        rows += 1
        if any(cell.strip() for cell in cells) and len(cells) != len(header):
            raise CsvImportError(
                N_("Row %(row)d has %(count)d columns but the header has %(header)d."),
                row=index + 1,
                count=len(cells),
                header=len(header),
            )
        if len(sample) < SNIFF_ROWS and any(cell.strip() for cell in cells):
            sample.append(cells)
    if not rows:
        raise CsvImportError(N_("The file has a header but no rows."))
    if user_id_column(header, sample) is None:
        raise CsvImportError(
            N_("No column of LINE user ids was found (a column such as ユーザーID or userId with values like U1234…).")
        )
    return ParsedFile(text, encoding, header, rows)


def _check_header(header: list[str]) -> None:
    if not any(header):
        raise CsvImportError(N_("The first row must name the columns."))
    if len(header) > MAX_COLUMNS:
        raise CsvImportError(N_("The file has more than %(max)d columns."), max=MAX_COLUMNS)


def norm_name(name: str) -> str:
    """A column name compared loosely: NFKC, lower case, without spaces, _, - and ・."""
    return re.sub(r"[\s_\-・]", "", unicodedata.normalize("NFKC", name).lower())


def user_id_column(header: list[str], sample: list[list[str]]) -> int | None:
    """The column holding LINE user ids: by its values first, else by its name."""
    for index in range(len(header)):
        values = [row[index].strip() for row in sample if index < len(row) and row[index].strip()]
        if values and all(LINE_USER_ID.match(value) for value in values):
            return index
    return next((i for i, name in enumerate(header) if norm_name(name) in USER_ID_NAMES), None)


def suggest(header: list[str], sample: list[list[str]], fields: list) -> list[str]:
    """A target for each column: user_id, tags, note, reading, field:<key> or ignore (fields: FieldDefinitions)."""
    id_column = user_id_column(header, sample)
    by_name = {}
    for definition in fields:
        by_name.setdefault(norm_name(definition.key), definition.key)
        by_name.setdefault(norm_name(definition.label), definition.key)
    return [USER_ID if index == id_column else _suggest_one(name, by_name) for index, name in enumerate(header)]


def _suggest_one(name: str, fields_by_name: dict[str, str]) -> str:
    norm = norm_name(name)
    if norm in TAG_NAMES:
        return TAGS
    if norm in NOTE_NAMES:
        return NOTE
    if norm in READING_NAMES:
        return READING
    for prefix in FIELD_PREFIXES:  # "友だち情報:会員番号", "友だち情報_会員番号", "field:plan"
        if norm.startswith(norm_name(prefix)) and norm != norm_name(prefix):
            norm = norm[len(norm_name(prefix)) :].lstrip(":：/")
            break
    key = fields_by_name.get(norm)
    return FIELD_PREFIX + key if key else IGNORE


def sample_rows(text: str) -> list[list[str]]:
    """The first few non-blank data rows (for suggestions and the mapping page)."""
    found = []
    for _index, _row, cells in data_rows(text):
        found.append(cells)
        if len(found) >= SNIFF_ROWS:
            break
    return found


def split_tags(cell: str) -> list[str]:
    """Tag names of a list cell: separated by commas, semicolons or line breaks (full- or half-width)."""
    return [name.strip() for name in re.split(r"[,;、，；\n]", cell) if name.strip()]

"""Cell references, cell values as stored in a worksheet, and Excel's limits.

Column letters go through :func:`toolkit.core.schema.column_index` (the one rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from toolkit.core.plan import Formula
from toolkit.core.schema import column_index, column_letter

MAX_ROW = 1_048_576
MAX_COL = 16_384
MAX_TEXT = 32_767


_REF_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


def parse_ref(ref: str) -> tuple[int, int]:
    """``"B7"`` → (row 7, column index 1)."""
    m = _REF_RE.fullmatch(ref.strip())
    if not m:
        raise ValueError(ref)
    return int(m.group(2)), column_index(m.group(1))


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """``"A1:C4"`` → (row1, col1, row2, col2); a single cell is a 1×1 range."""
    a, _, b = ref.partition(":")
    r1, c1 = parse_ref(a)
    r2, c2 = parse_ref(b) if b else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def in_range(r: int, c: int, rng: tuple[int, int, int, int]) -> bool:
    return rng[0] <= r <= rng[2] and rng[1] <= c <= rng[3]


_COLUMNS: dict[bytes, int] = {}
_LETTERS: dict[int, str] = {}


def column_of(letters: bytes) -> int:
    """``b"AB"`` (as found in a worksheet's ``r`` attribute) → 27, case-insensitive; cached."""
    col = _COLUMNS.get(letters)
    if col is None:
        col = _COLUMNS[letters] = column_index(letters.decode("ascii"))
    return col


def letters_of(col: int) -> str:
    """1 → ``"B"``; cached."""
    letters = _LETTERS.get(col)
    if letters is None:
        letters = _LETTERS[col] = column_letter(col)
    return letters


def cell_ref(r: int, col: int) -> str:
    """(7, 1) → ``"B7"``; letters cached."""
    return f"{letters_of(col)}{r}"


def excel_serial(value: date, date1904: bool) -> float:
    base = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 30)
    dt = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    delta = dt.replace(tzinfo=None) - base
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


def number_text(value: float | int) -> bytes:
    if isinstance(value, int):
        return str(value).encode()
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value)).encode()
    return repr(value).encode()


@dataclass(frozen=True)
class OldCell:
    """A decoded existing cell (enough to decide whether a write would change it)."""

    kind: str  # "empty" | "s" | "n" | "b" | "e" | "d"
    value: object
    formula: str | None
    formula_type: bytes | None
    style: int
    has_content: bool
    is_shared_ref: bool  # value is a shared-string reference
    has_f: bool


def formula_text(value: Formula) -> str:
    text = value.text.strip()
    return text[1:] if text.startswith("=") else text

"""Exceptions of the patcher: every refusal carries a Chinese message saying why and how to fix it."""

from __future__ import annotations


class LedgerWriteError(Exception):
    """Writing back to the ledger could not be done; ``message`` (Chinese) says why and how to fix it."""

    def __init__(self, message: str, *, sheet: str | None = None, cell: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sheet = sheet
        self.cell = cell


class PatchRefused(LedgerWriteError):
    """The plan would damage the workbook, or the file cannot be patched safely. Nothing was written."""


def refuse(message: str, sheet: str | None = None, cell: str | None = None) -> PatchRefused:
    return PatchRefused(message, sheet=sheet, cell=cell)

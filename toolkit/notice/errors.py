"""Exceptions of the notice package: one class per condition, messages in Chinese."""

from __future__ import annotations


class NoticeError(Exception):
    """Base class: the document cannot be produced; ``str(exc)`` tells staff what to do."""


class NoticeDataError(NoticeError):
    """The ledger lacks something the document needs (a setting, a valid option)."""


class TemplateInvalid(NoticeError):
    """The Word template has broken tags or unknown variables; ``problems`` lists them."""

    def __init__(self, message: str, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class PdfUnavailable(NoticeError):
    """LibreOffice (soffice) is not installed or cannot be found: no PDF can be made."""


class PdfConversionFailed(NoticeError):
    """LibreOffice ran but produced no PDF (crash, timeout, unreadable document)."""

"""The official progress notice (通报) and reminder letters (提醒函) as Word documents.

Public API (the CLI calls these):

- :func:`render_notice` — ledger → notice .docx (GB/T 9704-2012), optionally .pdf;
- :func:`render_reminders` — one 提醒函 per unit with overdue or 临期 tasks;
- :func:`lint_template` — tag problems in a (staff-edited) Word template;
- :func:`build_templates` — rebuild ``word_templates/*.docx`` from code;
- :func:`convert_to_pdf` — LibreOffice headless conversion with the font mapping.
"""

from __future__ import annotations

from toolkit.notice.errors import NoticeDataError, NoticeError, PdfConversionFailed, PdfUnavailable, TemplateInvalid
from toolkit.notice.lint import TemplateProblem, lint_template
from toolkit.notice.pdf import convert_to_pdf, find_soffice
from toolkit.notice.reminders import render_reminders
from toolkit.notice.render import NoticeResult, render_notice
from toolkit.notice.template_build import build_templates

__all__ = [
    "NoticeDataError",
    "NoticeError",
    "NoticeResult",
    "PdfConversionFailed",
    "PdfUnavailable",
    "TemplateInvalid",
    "TemplateProblem",
    "build_templates",
    "convert_to_pdf",
    "find_soffice",
    "lint_template",
    "render_notice",
    "render_reminders",
]

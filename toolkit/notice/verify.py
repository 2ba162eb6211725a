"""Verify a notice .docx (perhaps edited by hand in Word) against the ledger, number by number.

The checks are :mod:`toolkit.notice.consistency`'s; the paragraphs the ledger gives now come from
rendering the notice again into a temporary folder with the same template, profile and edition.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from toolkit.core.model import Ledger
from toolkit.notice.consistency import NumberProblem, check_figures, compare_numbers
from toolkit.notice.profiles import apply_profile
from toolkit.notice.render import render_notice, styled_paragraphs


def document_paragraphs(path: Path | str) -> list[tuple[str, str]]:
    """(style name, text) of the body paragraphs of a .docx, in order."""
    import docx

    return styled_paragraphs(docx.Document(str(path)))


def verify_notice_file(
    path: Path | str,
    ledger: Ledger,
    *,
    today: date,
    profile: str | None = None,
    template_path: Path | str | None = None,
    edition: str | None = None,
) -> list[NumberProblem]:
    """Every number of the notice at ``path`` checked against ``ledger`` (see the module docstring)."""
    from toolkit.core.status import evaluate_ledger

    status = evaluate_ledger(ledger, today=today)
    settings = apply_profile(ledger.settings, profile)
    found = document_paragraphs(path)
    problems = check_figures(found, ledger, settings, status, today=today)
    with tempfile.TemporaryDirectory(prefix="zhenggai-") as folder:
        fresh = render_notice(ledger, today=today, out_path=Path(folder) / "expected.docx", template_path=template_path,
                              profile=profile, check=False, edition=edition)
        expected = [text for _, text in document_paragraphs(fresh.docx)]
    problems += compare_numbers([text for _, text in found], expected)
    return problems

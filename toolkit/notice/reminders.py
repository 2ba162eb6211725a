"""Reminder letters (提醒函): one per responsible unit with overdue, 临期 or 时限待核 tasks."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from toolkit.core.model import Ledger
from toolkit.notice.context import REMINDER_ITEM_FIELDS, REMINDER_VARIABLES, build_reminder_contexts
from toolkit.notice.render import clean_value, render_document, stamp_dates, template_source
from toolkit.notice.template_build import KIND_REMINDER, REMINDER_TEMPLATE_NAME

REMINDER_TITLE = "关于加快推进巡察整改任务的提醒函"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def reminder_file_name(unit: str) -> str:
    """``提醒函_{unit}.docx`` with characters that file systems refuse replaced by ``_``."""
    return f"提醒函_{_UNSAFE.sub('_', unit).strip(' .') or '未命名单位'}.docx"


def render_reminders(
    ledger: Ledger,
    *,
    today: date,
    out_dir: Path | str,
    template_path: Path | str | None = None,
) -> list[Path]:
    """Write one reminder letter per unit that has overdue, 临期 or 时限待核 tasks on ``today``.

    Returns the paths written, in ledger order of the units; an empty list when no task is
    overdue, near its deadline or without a readable deadline (时限待核: the letter asks for one). Raises :class:`TemplateInvalid` for a broken template.
    """
    from toolkit.core.status import evaluate_ledger

    status = evaluate_ledger(ledger, today=today)
    contexts = build_reminder_contexts(ledger, status, today=today)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for ctx in contexts:
        source = template_source(template_path, REMINDER_TEMPLATE_NAME, KIND_REMINDER)
        tpl = render_document(
            source,
            clean_value(ctx.variables),
            allowed=REMINDER_VARIABLES,
            item_fields=REMINDER_ITEM_FIELDS,
            signature_indent=ctx.signature_indent,
            date_indent=ctx.date_indent,
            title=f"{REMINDER_TITLE}（{ctx.unit}）",
        )
        stamp_dates(tpl.docx, today)
        name = reminder_file_name(ctx.unit)
        stem, n = name[:-5], 2
        while name in used:
            name, n = f"{stem}_{n}.docx", n + 1
        used.add(name)
        path = out / name
        tpl.save(str(path))
        written.append(path)
    return written

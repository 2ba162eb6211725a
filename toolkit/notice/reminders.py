"""督办 letters (提醒函 / 督办函 / 告诫函): one per responsible unit with overdue, 临期 or 时限待核 tasks.

The level, 文号 and reply deadline are decided by :mod:`toolkit.notice.ladder`; this module renders
the letters and returns what the register (督办记录) must record. Writing the register is the
job's business (``toolkit.jobs.documents.run_reminders``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from toolkit.core.model import Ledger, Table
from toolkit.notice.context import REMINDER_ITEM_FIELDS, REMINDER_VARIABLES, build_reminder_contexts
from toolkit.notice.ladder import RegisterEntry
from toolkit.notice.render import clean_value, render_document, stamp_dates, template_source
from toolkit.notice.template_build import KIND_REMINDER, REMINDER_TEMPLATE_NAME

REMINDER_TITLE = "关于加快推进巡察整改任务的提醒函"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def reminder_file_name(unit: str, level: str = "提醒函") -> str:
    """``{level}_{unit}.docx`` with characters that file systems refuse replaced by ``_``."""
    return f"{level}_{_UNSAFE.sub('_', unit).strip(' .') or '未命名单位'}.docx"


@dataclass
class Letter:
    """One letter written: its file, level, 文号, and the register row that records it."""

    path: Path
    level: str
    number: str
    unit: str
    addressee: str
    entry: RegisterEntry
    warnings: list[str]


def render_letters(
    ledger: Ledger,
    *,
    today: date,
    out_dir: Path | str,
    template_path: Path | str | None = None,
    register: list[RegisterEntry] = (),
    monthly: Table | None = None,
) -> list[Letter]:
    """Write one letter per unit that needs one on ``today``; an empty list when none does."""
    from toolkit.core.status import evaluate_ledger

    status = evaluate_ledger(ledger, today=today)
    contexts = build_reminder_contexts(ledger, status, today=today, register=register, monthly=monthly)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    letters: list[Letter] = []
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
            title=f"{ctx.title}（{ctx.unit}）",
        )
        stamp_dates(tpl.docx, today)
        name = reminder_file_name(ctx.unit, ctx.level)
        stem, n = name[:-5], 2
        while name in used:
            name, n = f"{stem}_{n}.docx", n + 1
        used.add(name)
        path = out / name
        tpl.save(str(path))
        plan = ctx.plan
        entry = RegisterEntry(
            ctx.number, today, ctx.level, ctx.unit, plan.addressee, tuple(r.id for r in ctx.rows),
            overdue=ctx.variables["overdue_count"], due_soon=ctx.variables["due_soon_count"], reply_by=plan.reply_by,
            file=name,
        )
        warnings = [] if plan.named_in_full else [
            f"{ctx.level}（{ctx.unit}）的主送写的是“{ctx.unit}”：请在“县区”或“责任清单”工作表的“单位全称”列填写该单位全称。"
        ]
        letters.append(Letter(path, ctx.level, ctx.number, ctx.unit, plan.addressee, entry, warnings))
    return letters


def render_reminders(
    ledger: Ledger,
    *,
    today: date,
    out_dir: Path | str,
    template_path: Path | str | None = None,
    register: list[RegisterEntry] = (),
    monthly: Table | None = None,
) -> list[Path]:
    """The paths of :func:`render_letters` (in ledger order of the units)."""
    return [x.path for x in render_letters(ledger, today=today, out_dir=out_dir, template_path=template_path,
                                           register=register, monthly=monthly)]

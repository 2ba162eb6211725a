"""Document jobs: the progress notice (通报) and the reminder letters (提醒函)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from toolkit.core.errors import ToolkitError
from toolkit.jobs.check import checked
from toolkit.jobs.gcpause import bulk_job
from toolkit.jobs.paths import unique_path
from toolkit.jobs.result import JobResult
from toolkit.jobs.sources import LedgerSource


@contextmanager
def document_errors(what: str) -> Iterator[None]:
    """Turn what can go wrong while writing a Word document into one Chinese refusal (exit 2)."""
    from toolkit import notice as nt

    try:
        yield
    except PermissionError as exc:
        name = Path(exc.filename).name if exc.filename else what
        raise ToolkitError(f"无法写入{what}（{name}）：文件可能正在 Word 或 WPS 中打开，请关闭后重试。") from exc
    except nt.NoticeError as exc:
        raise ToolkitError(str(exc)) from exc


@bulk_job
def run_notice(
    source: LedgerSource,
    *,
    today: date | None = None,
    out: str | Path | None = None,
    template: str | Path | None = None,
    pdf: bool = False,
    overwrite: bool = False,
    profile: str | None = None,
    edition: str | None = None,
) -> JobResult:
    """生成通报: the notice as .docx (and .pdf) beside the ledger, rendered even when the ledger has errors.

    Without ``out`` the file is 通报_<as-of>.docx beside the ledger, or 通报_<as-of>(2).docx … when
    that exists (staff edit the generated notice in Word). An explicit ``out`` that exists is
    replaced only with ``overwrite``.
    """
    from toolkit import notice as nt

    job = JobResult("notice", "生成通报")
    result = checked(source, today)
    job.check, job.today, job.ledger = result, result.today, source.path
    if out is None:
        target = unique_path(source.folder / f"通报_{result.today.isoformat()}.docx")
    else:
        target = Path(out)
        if target.suffix.lower() != ".docx":
            raise ToolkitError(f"通报的文件名应以 .docx 结尾：{target.name}")
        if target.exists() and not overwrite:
            raise ToolkitError(f"文件已存在，为防止覆盖已修改的通报，未生成：{target}。请换一个文件名，或加 --force 覆盖。")
    with document_errors(target.name):
        made = nt.render_notice(result.ledger, today=result.today, out_path=target, template_path=template, pdf=pdf,
                                profile=profile, edition=edition)
    job.details = made
    job.add_written(made.docx, "通报")
    if made.pdf:
        job.add_written(made.pdf, "通报 PDF")
    elif pdf:
        job.refused.append(f"未生成 PDF：{made.pdf_skipped}")
    job.notes.extend(made.warnings)
    if result.report.errors:
        job.notes.append(f"台账有 {len(result.report.errors)} 处错误，通报内容可能不准确：请先校验台账并改正后重新生成。")
    return job


def run_verify_notice(
    source: LedgerSource,
    notice: str | Path,
    *,
    today: date | None = None,
    template: str | Path | None = None,
    profile: str | None = None,
    edition: str | None = None,
) -> JobResult:
    """核对通报数字: every number in an existing notice .docx (perhaps edited in Word) against the ledger.

    Writes nothing. Each disagreement is a note and makes the verdict "needs attention".
    """
    from toolkit import notice as nt
    from toolkit.notice.verify import verify_notice_file

    job = JobResult("verify-notice", "核对通报数字")
    result = checked(source, today)
    job.check, job.today, job.ledger = result, result.today, source.path
    path = Path(notice)
    if not path.is_file():
        raise ToolkitError(f"找不到要核对的通报：{path}")
    try:
        problems = verify_notice_file(path, result.ledger, today=result.today, profile=profile, template_path=template,
                                      edition=edition)
    except nt.NoticeError as exc:
        raise ToolkitError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - python-docx raises several kinds for a file that is not .docx
        if type(exc).__module__.startswith(("docx", "zipfile", "lxml")):
            raise ToolkitError(f"无法读取通报文件 {path.name}：请确认是 Word（.docx）文件。") from exc
        raise
    job.details = problems
    job.notes.extend(p.describe() for p in problems)
    job.attention = bool(problems)
    if not problems:
        job.notes.append(f"{path.name} 中的数字与台账一致。")
    return job


@bulk_job
def run_reminders(
    source: LedgerSource,
    *,
    today: date | None = None,
    out: str | Path | None = None,
    template: str | Path | None = None,
) -> JobResult:
    """生成督办函件: one letter per unit with overdue or near-deadline tasks (提醒函/督办函/告诫函), in a new
    folder beside the ledger, and every letter recorded in the ledger's 督办记录 sheet.

    Policy: the letters are rendered into the folder first; the register is then written through the
    ledger's lossless write path (backup, lock check). When the ledger cannot be written (open in
    Excel/WPS), the letters just rendered are deleted and the job refuses: a letter whose 文号 is not
    in the register would break the numbering and the escalation history.
    """
    from toolkit.core.plan import WritePlan
    from toolkit.core.schema import SHEET_LETTERS, SHEET_MONTHLY
    from toolkit.notice.ladder import read_register, register_plan
    from toolkit.notice.reminders import render_letters

    job = JobResult("reminders", "生成督办函件")
    result = checked(source, today)
    job.check, job.today, job.ledger = result, result.today, source.path
    tables = source.tables
    register = read_register(tables.get(SHEET_LETTERS))
    monthly = tables.get(SHEET_MONTHLY)
    out_dir = Path(out) if out is not None else unique_path(source.folder / f"督办函件_{result.today.isoformat()}")
    with document_errors("督办函件"):
        letters = render_letters(result.ledger, today=result.today, out_dir=out_dir, template_path=template,
                                 register=register, monthly=monthly)
    job.details = letters
    if not letters:
        job.notes.append("没有逾期、临期或时限待核的任务，无需发督办函件。")
        return job
    plan = WritePlan([register_plan(register, [x.entry for x in letters])])
    job.write_attempted = True
    try:
        outcome = source.write(plan)
    except ToolkitError as exc:
        for x in letters:
            x.path.unlink(missing_ok=True)
        raise ToolkitError(f"督办记录无法写入台账，为保持文号连续，本次未生成督办函件：{exc}") from exc
    for x in letters:
        job.add_written(x.path, f"{x.level}（{x.number}）")
        job.notes.extend(x.warnings)
    job.add_written(source.path, "督办记录", cells=outcome.cells, backup=outcome.backup, in_memory=outcome.in_memory)
    return job

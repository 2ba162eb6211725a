"""County jobs: issue the monthly submission workbooks, consolidate the returns."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from toolkit.core.errors import ToolkitError
from toolkit.jobs.check import checked, record_write, refuse_implausible_as_of
from toolkit.jobs.gcpause import bulk_job
from toolkit.jobs.result import JobResult
from toolkit.jobs.settings import COUNTY_TEMPLATE_DIR, resolve_inbox, resolve_period
from toolkit.jobs.sources import FileLedger, LedgerSource


@bulk_job
def run_county_templates(
    source: LedgerSource,
    *,
    today: date | None = None,
    period: str | None = None,
    out: str | Path | None = None,
    deadline: date | None = None,
    now: datetime | None = None,
) -> JobResult:
    """生成县区报送表: one submission workbook per county with open tasks, into 县区报送表-下发 beside the ledger."""
    from toolkit.counties.metadata import DEFAULT_RETURN_DAYS, period_label, previous_period
    from toolkit.counties.template import make_county_templates

    job = JobResult("county-templates", "生成县区报送表")
    result = checked(source, today)
    job.check, job.today, job.ledger = result, result.today, source.path
    chosen = resolve_period(period, source.tables)
    out_dir = Path(out) if out is not None else source.folder / COUNTY_TEMPLATE_DIR
    # The ledger's stable identity (台账编号) binds the returns to it; a ledger without one gets it
    # now, written through the source (lossless file patch, or into the open workbook).
    from toolkit.counties.identity import plan_ledger_id

    ledger_id, id_plan = plan_ledger_id(source.tables)
    if id_plan is not None:
        record_write(job, source, source.write(id_plan))
        job.notes.append(f"台账首次生成报送表：已在“基本信息”中写入台账编号 {ledger_id}（请勿修改或删除）。")
    made = make_county_templates(source.snapshot(), period=chosen, out_dir=out_dir, today=result.today,
                                 now=now, return_deadline=deadline, ledger_id=ledger_id)
    job.details = made
    for p in made:
        job.add_written(p, "县区报送表")
    due = deadline or (result.today + timedelta(days=DEFAULT_RETURN_DAYS))
    job.notes.append(f"报送期：{period_label(chosen or previous_period(result.today))}；报回截止日期：{due.isoformat()}。")
    if result.report.errors:
        job.notes.append(f"台账有 {len(result.report.errors)} 处错误，报送表可能不完整：建议先校验台账并改正后重新生成。")
    return job


@bulk_job
def run_consolidate(
    source: LedgerSource,
    *,
    inbox: str | Path | None = None,
    today: date | None = None,
    period: str | None = None,
    deadline: date | None = None,
    dry_run: bool = False,
    report_dir: str | Path | None = None,
    now: datetime | None = None,
    progress: Any = None,
) -> JobResult:
    """汇总县区报送: check every returned file in the inbox (subfolders too), merge the accepted ones, log every change.

    The ledger gets one write: statuses, 统计, the 县区 sheet for this period, 变更记录 and 月度进展.
    A report workbook goes to 县区报送汇总 beside the ledger (not in a dry run).
    """
    from toolkit.core.check import resolve_today
    from toolkit.counties.consolidate import REPORT_DIR_NAME, MasterRead, consolidate_folder

    job = JobResult("consolidate", "汇总县区报送", dry_run=dry_run)
    job.ledger = source.path
    folder = source.folder
    # A file's 基本信息 is read first (inbox, period); the whole master is read by master() below, once the
    # workers have started on the county files. The open workbook is read and checked as it is.
    first = None if isinstance(source, FileLedger) else checked(source, today)
    settings = source.settings_tables() if isinstance(source, FileLedger) else source.tables
    box = resolve_inbox(inbox, settings, folder)
    if not box.is_dir():
        raise ToolkitError(
            f"找不到县区报送文件夹：{box}\n请新建该文件夹并把各县区交回的报送表放进去，"
            "或在“基本信息”中新增一行：左格写“县区报送文件夹”，右格填写文件夹路径。"
        )
    chosen = resolve_period(period, settings)
    reports = Path(report_dir) if report_dir is not None else folder / REPORT_DIR_NAME
    if isinstance(source, FileLedger):
        source.require_writable()

        def master() -> MasterRead:
            tables, (ledger, issues) = source.loaded()
            day = resolve_today(ledger, today, clock_today=date.today())
            if today is not None:
                refuse_implausible_as_of(ledger, day)
            return MasterRead(source._stat, tables, (ledger, issues), day, source.take_ahead())

        outcome = consolidate_folder(source.path, box, period=chosen, dry_run=dry_run, deadline=deadline,
                                     progress=progress, report_dir=reports, now=now, backup_dir=source.backup_dir,
                                     master=master)
        job.today = outcome.today
        w = outcome.written
        job.write_attempted = not dry_run
        job.changes = list(getattr(w, "changes", ()) or ())
        if w is not None and getattr(w, "written", False):
            job.add_written(source.path, "台账", cells=len(job.changes), backup=getattr(w, "backup", None),
                            styled=int(getattr(w, "style_changes", 0) or 0))
        report_path = outcome.report_path
    else:
        # The open workbook cannot be written as a file: compute on a copy, apply the plan through Excel.
        from toolkit.counties.report import write_report

        job.today = first.today
        outcome = consolidate_folder(source.snapshot(), box, period=chosen, dry_run=True, today=first.today,
                                     deadline=deadline, progress=progress, now=now)
        if not dry_run:
            job.write_attempted = True
            written = source.write(outcome.plan)
            if written.written:
                job.add_written(source.path, "台账", cells=written.cells, in_memory=True)
            report_path = write_report(replace(outcome, dry_run=False, ledger_path=source.path), reports)
        else:
            report_path = None
    job.details = outcome
    job.check = outcome.check or first
    if report_path is not None:
        job.add_written(report_path, "汇总报告")
    job.attention = bool(outcome.needs_attention)
    job.notes.extend(note.message for note in outcome.notes)
    return job

"""The ledger jobs: check, status (write-back) and init."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from toolkit.core.check import CheckResult
from toolkit.core.errors import ToolkitError
from toolkit.core.model import Ledger
from toolkit.core.plan import WritePlan
from toolkit.jobs.gcpause import bulk_job
from toolkit.jobs.result import JobResult
from toolkit.jobs.sources import FileLedger, LedgerSource, WriteOutcome


def checked(source: LedgerSource, today: date | None, *, explicit_today: bool | None = None) -> CheckResult:
    """Read and check the ledger; refuse (exit 2) an as-of date the core finds implausible when it was given explicitly."""
    result = source.check(today)
    if today is not None if explicit_today is None else explicit_today:
        refuse_implausible_as_of(result.ledger, result.today)
    return result


def refuse_implausible_as_of(ledger: Ledger, day: date) -> None:
    """ToolkitError (exit 2) when ``day``, given explicitly, lies implausibly far from the round (core rule)."""
    from toolkit.core.check import rule_as_of_plausible

    for issue in rule_as_of_plausible(ledger, day):
        raise ToolkitError(issue.message)


def write_blockers(result: CheckResult) -> list[str]:
    """Why computed columns must not be written (a required sheet or input column is missing): Chinese reasons."""
    from toolkit.core.plan import computed_columns_blocked

    return [issue.message for issue in computed_columns_blocked(result.ledger)]


def check_only(result: CheckResult) -> WritePlan:
    """The part of the plan holding only check results (校验结果 sheet and 【自动】校验 columns)."""
    from toolkit.core.plan import check_only_plan

    return check_only_plan(result.plan, result.ledger)


def record_write(job: JobResult, source: LedgerSource, outcome: WriteOutcome, what: str = "台账") -> None:
    job.write_attempted = True
    job.changes = list(outcome.changes)
    if outcome.written:
        job.add_written(source.path, what, cells=outcome.cells, backup=outcome.backup, in_memory=outcome.in_memory,
                        styled=outcome.style_only)


@bulk_job
def run_check(source: LedgerSource, *, today: date | None = None, write: bool = False) -> JobResult:
    """校验台账: check the ledger; with ``write`` also put the results into the workbook (校验结果, 【自动】校验).

    A refused write (the workbook is open elsewhere, a read-only file) does not fail the check:
    the result says what was not written and why.
    """
    job = JobResult("check", "校验台账", ledger=_ledger_path(source))
    result = checked(source, today)
    job.check, job.today = result, result.today
    if write:
        try:
            record_write(job, source, source.write(check_only(result)))
        except ToolkitError as exc:
            job.refused.append(f"校验结果未写入台账：{exc}")
    return job


@bulk_job
def run_status(source: LedgerSource, *, today: date | None = None, dry_run: bool = False) -> JobResult:
    """更新状态: compute statuses and write statuses, check results and 统计 back (backup first, lossless).

    When a required input column is missing, only the check results are written and the result says so.
    """
    job = JobResult("status", "更新状态", ledger=_ledger_path(source), dry_run=dry_run)
    source.require_writable()
    result = checked(source, today)
    job.check, job.today = result, result.today
    plan, blockers = status_plan(result)
    job.refused.extend(blockers)
    record_write(job, source, source.write(plan, dry_run=dry_run))
    return job


def status_plan(result: CheckResult) -> tuple[WritePlan, list[str]]:
    """What a status run writes: the whole plan, or only the check results when a required input is missing."""
    blockers = write_blockers(result)
    return (check_only(result) if blockers else result.plan), blockers


@bulk_job
def update_status_file(path: str | Path, *, today: date | None = None, dry_run: bool = False, backup_dir=None):
    """Library form of :func:`run_status` for scripts: returns (CheckResult, safe_write.WriteResult).

    The same policy (:func:`status_plan`) and the same lossless, backed-up write as the job.
    """
    source = FileLedger(path, backup_dir=backup_dir)
    source.require_writable()
    result = checked(source, today)
    plan, _ = status_plan(result)
    return result, source.write(plan, dry_run=dry_run).raw


def run_init(path: str | Path, *, demo: bool = False, force: bool = False, today: date | None = None) -> JobResult:
    """新建台账: a new ledger workbook (.xlsx, or .xlsm with the 操作 buttons); never overwrites without ``force``."""
    from toolkit.jobs.ledger import new_ledger_workbook

    path = Path(path)
    job = JobResult("init", "新建台账", ledger=path)
    ledger = None
    if demo:
        from toolkit.demo.ledger import build_demo_ledger

        ledger = build_demo_ledger()
    result = new_ledger_workbook(path, ledger, overwrite=force, today=today)
    job.check, job.today = result, result.today
    job.add_written(path, "台账")
    job.notes.append(f"新台账共 {len(result.ledger.tasks)} 项整改措施。")
    return job


def _ledger_path(source: LedgerSource) -> Path | None:
    if isinstance(source, FileLedger):
        return source.path
    try:
        return source.path
    except ToolkitError:
        return None

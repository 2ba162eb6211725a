"""The consolidation pipeline (reads started before the master, checks prepared in the worker) gives
exactly what the pre-change pipeline gave: every file's outcome field by field, and the ledger's bytes.

The pre-change pipeline is spelled out here: batch reads, the zip probe of every sheet, and
check_return on the whole tables in the run's own process, without anything prepared.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import COUNTY_TODAY as TODAY

from toolkit.core.errors import ToolkitError
from toolkit.core.intake import load_ledger
from toolkit.counties import consolidate as consolidate_module
from toolkit.counties.consolidate import InboxReads, _refused, consolidate_folder, display_name
from toolkit.counties.identity import read_ledger_id
from toolkit.counties.metadata import DATA_SHEET, META_SHEET
from toolkit.counties.returns import MasterContext, check_return, prepare_in_worker, prepare_return, probe_zip
from toolkit.demo.counties import fill_return, stamp_saved_time
from toolkit.excel.ledger_file import read_ledger_tables
from toolkit.excel.read import read_workbook
from toolkit.excel.untrusted import RejectedFile, read_many_untrusted
from toolkit.excel.untrusted.sandbox import start_read_stream

ON_TIME = datetime(2025, 4, 4, 10, 0)
NOW = datetime(2025, 4, 7, 10, 0)


def _ret(templates, inbox: Path, county: str, name: str, edits: dict, mutate=None, filler=("张三", "0763-1234567")):
    dest = inbox / name
    fill_return(templates[county], dest, edits, filler=filler, today=TODAY)
    if mutate is not None:
        wb = openpyxl.load_workbook(dest)
        mutate(wb[DATA_SHEET], wb)
        wb.save(dest)
    stamp_saved_time(dest, ON_TIME)
    return dest


def _meta_edit(key: str, value: str):
    def mutate(ws, wb):
        for row in wb[META_SHEET].iter_rows():
            if row[0].value == key:
                row[1].value = value

    return mutate


def _rename(ws, wb):
    ws.title = "改了名的报送表"


def _swap(ws, wb):
    for col in "ABCDEFGHIJK":
        ws[f"{col}9"].value, ws[f"{col}10"].value = ws[f"{col}10"].value, ws[f"{col}9"].value


def _varied_inbox(templates, inbox: Path) -> None:
    """Clean edits, year-less and real dates, formulas, error values, a renamed sheet, broken metadata..."""
    _ret(templates, inbox, "连州市", "连州市-1.xlsx", {"1-3": {"progress": "第一次报送"}})
    _ret(
        templates,
        inbox,
        "连州市",
        "连州市-2.xlsx",
        {"1-3": {"progress": "第一次报送，补充", "state": "已完成", "completed_on": "3月20日", "evidence": "纪要"}},
    )
    _ret(
        templates,
        inbox,
        "清新区",
        "清新区.xlsx",
        {"2-3": {"progress": "p"}},
        lambda ws, wb: ws.__setitem__("G9", "=TODAY()"),
    )
    _ret(
        templates,
        inbox,
        "英德市",
        "英德市.xlsx",
        {"2-2": {"progress": "p"}},
        lambda ws, wb: ws.__setitem__("I9", "#N/A"),
    )
    _ret(templates, inbox, "阳山县", "阳山县.xlsx", {"3-1": {"progress": "改名后的进展"}}, _rename)
    _ret(
        templates,
        inbox,
        "阳山县",
        "阳山县-日期.xlsx",
        {"3-1": {"state": "已完成", "completed_on": datetime(2025, 3, 31, 15, 0), "evidence": "验收单"}},
        filler=("李四", "打我电话"),
    )
    _ret(templates, inbox, "佛冈县", "佛冈县.xlsx", {"7-1": {"progress": "p"}}, _meta_edit("county", "英德市"))
    _ret(templates, inbox, "清城区", "清城区.xlsx", {}, lambda ws, wb: ws.__setitem__("C9", "改过的措施"))
    _ret(templates, inbox, "连南瑶族自治县", "连南.xlsx", {}, _meta_edit("template_version", "0"))
    _ret(templates, inbox, "连州市", "连州市-乱序.xlsx", {"1-3": {"progress": "q"}}, _swap)
    sub = inbox / "自制"
    sub.mkdir()
    wb = openpyxl.Workbook()
    wb.active["A1"] = "任务编号"
    wb.save(sub / "自制表.xlsx")
    (inbox / "坏文件.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    (inbox / "文本.xlsx").write_text("不是表格", encoding="utf-8")


def _context(master: Path) -> MasterContext:
    tables = read_ledger_tables(master)
    ledger, _ = load_ledger(tables)
    return MasterContext.build(ledger, ledger_id=read_ledger_id(tables), period="2025-03", today=TODAY)


class _PreChangeReads:
    """check_files as it was: format refusals, batch reads, probe of every sheet, nothing prepared."""

    def __init__(self, paths, *, workers=2, root=None):
        self.paths, self.root, self.workers = paths, root, workers

    def check(self, ctx, *, progress=None):
        names = {p: display_name(p, self.root) for p in self.paths}
        outcomes = {}
        readable = []
        for p in self.paths:
            problem = consolidate_module._format_problem(p)
            if problem is None:
                readable.append(p)
            else:
                outcomes[p] = _refused(p, ctx, *problem, names[p])
        for p, got in read_many_untrusted(readable, workers=self.workers).items():
            if isinstance(got, RejectedFile):
                outcomes[p] = _refused(p, ctx, got.code, str(got), names[p])
            else:
                outcomes[p] = check_return(p, got, ctx, probe=probe_zip(p, tuple(got)), display=names[p])
        return [outcomes[p] for p in self.paths]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def test_prepared_checks_equal_the_pre_change_checks_file_by_file(issued, tmp_path):
    master, templates = issued
    inbox = tmp_path / "收件"
    inbox.mkdir()
    _varied_inbox(templates, inbox)
    paths, _ = consolidate_module.list_inbox(inbox, master)
    ctx = _context(master)
    with InboxReads(paths, root=inbox) as reads:
        new = reads.check(ctx)
    old = _PreChangeReads(paths, root=inbox).check(ctx)
    assert [f.name for f in new] == [f.name for f in old]
    for a, b in zip(new, old):
        assert a == b, a.name  # every field: issues, changes, conflicts, values, metadata, times...
    # The variety really is there: prepared rows, rows left to the run's process, refusals of every kind.
    codes = {i.code for f in new for i in f.issues}
    assert {"formula-in-cell", "excel-error", "sheet-renamed", "metadata-tampered", "old-template"} <= codes
    assert {"readonly-edited", "rows-reordered", "missing-metadata", "bad-phone"} <= codes
    assert any(f.accepted and f.changes for f in new)


def test_prepare_in_worker_equals_prepare_return_and_keeps_what_check_return_reads(issued, tmp_path):
    master, templates = issued
    inbox = tmp_path / "收件"
    inbox.mkdir()
    _varied_inbox(templates, inbox)
    ctx = _context(master)
    for p in sorted(inbox.rglob("*.xlsx")):
        try:
            tables = read_workbook(p)
        except Exception:  # noqa: BLE001 - the unreadable ones are refused before any of this
            continue
        slim, prepared = prepare_in_worker(str(p), tables)
        assert prepared == prepare_return(p, tables)
        full = check_return(p, tables, ctx, probe=probe_zip(p, tuple(tables)))
        assert check_return(p, slim, ctx, prepared=prepared) == full, p.name
        assert check_return(p, tables, ctx, prepared=prepared) == full, p.name


def test_whole_consolidation_identical_to_pre_change_pipeline(issued, tmp_path, monkeypatch):
    master, templates = issued
    inbox = tmp_path / "收件"
    inbox.mkdir()
    _varied_inbox(templates, inbox)
    a, b = tmp_path / "a" / "台账.xlsx", tmp_path / "b" / "台账.xlsx"
    for dst in (a, b):
        dst.parent.mkdir()
        shutil.copy2(master, dst)
    kw = {"today": TODAY, "now": NOW}
    new = consolidate_folder(a, inbox, report_dir=tmp_path / "a" / "报告", **kw)
    monkeypatch.setattr(consolidate_module, "InboxReads", _PreChangeReads)
    old = consolidate_folder(b, inbox, report_dir=tmp_path / "b" / "报告", **kw)
    assert new.written.written and old.written.written
    assert a.read_bytes() == b.read_bytes()
    assert new.files == old.files and new.changes == old.changes
    assert read_workbook(new.report_path) == read_workbook(old.report_path)


def _child_pids() -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        text = (task / "children").read_text().split()
        out.update(int(x) for x in text)
    return out


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task").is_dir(), reason="needs /proc (Linux)")
def test_unreadable_master_stops_the_county_workers_already_started(issued, tmp_path):
    _, templates = issued
    inbox = tmp_path / "收件"
    inbox.mkdir()
    for k in range(6):
        _ret(templates, inbox, "连州市", f"连州市-{k}.xlsx", {"1-3": {"progress": f"第{k}次"}})
    broken = tmp_path / "台账.xlsx"
    broken.write_bytes(b"not a workbook at all")
    before = _child_pids()
    with pytest.raises(ToolkitError):
        consolidate_folder(broken, inbox, today=TODAY, now=NOW, report_dir=tmp_path / "报告")
    assert _child_pids() <= before  # every worker started for the inbox has been stopped and reaped


def test_read_stream_closed_early_stops_its_thread_and_workers(issued, tmp_path):
    _, templates = issued
    paths = [
        _ret(templates, tmp_path, "连州市", f"连州市-{k}.xlsx", {"1-3": {"progress": f"第{k}次"}}) for k in range(8)
    ]
    stream = start_read_stream(paths, workers=2)
    first = next(iter(stream))
    assert first[0] == paths[0] and not isinstance(first[1], Exception)
    stream.close()
    assert not stream._thread.is_alive()


def test_consolidate_job_reads_the_master_once_and_writes_what_a_direct_run_writes(issued, tmp_path, monkeypatch):
    from toolkit.excel import ledger_file
    from toolkit.jobs.counties import run_consolidate
    from toolkit.jobs.sources import FileLedger

    master, templates = issued
    inbox = tmp_path / "收件"
    inbox.mkdir()
    _ret(templates, inbox, "连州市", "连州市.xlsx", {"1-3": {"progress": "新进展"}})
    _ret(
        templates,
        inbox,
        "清新区",
        "清新区.xlsx",
        {"2-3": {"state": "已完成", "completed_on": "3月2日", "evidence": "e"}},
    )
    a, b = tmp_path / "a" / "台账.xlsx", tmp_path / "b" / "台账.xlsx"
    for dst in (a, b):
        dst.parent.mkdir()
        shutil.copy2(master, dst)
    reads: list[Path] = []
    real = ledger_file.read_ledger_tables

    def counting(path, *args, **kw):
        if kw.get("sheets") is None:  # whole-workbook reads (the job reads 基本信息 alone first)
            reads.append(Path(path))
        return real(path, *args, **kw)

    prechecks: list[Path] = []
    real_precheck = ledger_file.precheck_ledger

    def counting_precheck(path, **kw):
        prechecks.append(Path(path))
        return real_precheck(path, **kw)

    real_staged = ledger_file.read_ledger_staged

    def counting_staged(path, *args, **kw):  # the job's whole read (the task sheet parsed in the background)
        reads.append(Path(path))
        if kw.get("facts") is None:
            prechecks.append(Path(path))
        return real_staged(path, *args, **kw)

    monkeypatch.setattr(ledger_file, "read_ledger_tables", counting)
    monkeypatch.setattr(ledger_file, "read_ledger_staged", counting_staged)
    monkeypatch.setattr(ledger_file, "precheck_ledger", counting_precheck)
    monkeypatch.setattr(consolidate_module, "read_ledger_tables", counting)
    job = run_consolidate(
        FileLedger(a), inbox=inbox, today=TODAY, period="2025-03", now=NOW, report_dir=tmp_path / "ra"
    )
    assert reads == [a]  # the job's read serves the consolidation too
    assert prechecks == [a]  # one pre-check serves the 基本信息 read and the whole read
    assert job.details.written.written
    direct = consolidate_folder(b, inbox, today=TODAY, period="2025-03", now=NOW, report_dir=tmp_path / "rb")
    assert reads == [a, b]
    assert a.read_bytes() == b.read_bytes() and job.details.files == direct.files


def test_master_saved_after_the_job_read_it_is_not_overwritten(issued, tmp_path):
    from toolkit.jobs.sources import FileLedger

    master, templates = issued
    inbox = tmp_path / "收件"
    inbox.mkdir()
    _ret(templates, inbox, "连州市", "连州市.xlsx", {"1-3": {"progress": "新进展"}})
    path = tmp_path / "台账.xlsx"
    shutil.copy2(master, path)
    source = FileLedger(path)
    tables = source.tables
    stat = source._stat
    saved = path.read_bytes()
    os.utime(path, ns=(stat[1] + 5_000_000_000, stat[1] + 5_000_000_000))  # someone saved it meanwhile
    with pytest.raises(ToolkitError) as info:
        consolidate_folder(path, inbox, today=TODAY, now=NOW, report_dir=tmp_path / "报告", read_as=(stat, tables))
    assert path.read_bytes() == saved and "被修改" in str(info.value)


def test_consolidate_job_refuses_an_implausible_today_before_writing(issued, tmp_path):
    """The job reads the master while the county files are read; an explicit as-of date decades away is still
    refused (exit 2) before anything is written: ledger bytes unchanged, no report folder."""
    from datetime import date

    from toolkit.jobs.counties import run_consolidate
    from toolkit.jobs.sources import FileLedger

    master, templates = issued
    inbox = tmp_path / "收件"
    inbox.mkdir()
    _ret(templates, inbox, "连州市", "连州市.xlsx", {"1-3": {"progress": "新进展"}})
    path = tmp_path / "台账.xlsx"
    shutil.copy2(master, path)
    before = path.read_bytes()
    with pytest.raises(ToolkitError, match="统计日期 1990-01-01"):
        run_consolidate(FileLedger(path), inbox=inbox, today=date(1990, 1, 1), period="2025-03", now=NOW,
                        report_dir=tmp_path / "报告")
    assert path.read_bytes() == before and not (tmp_path / "报告").exists()

"""Consolidating county returns into the master ledger: every way a county gets it wrong, and right."""

from __future__ import annotations

import ast
import copy
import hashlib
import io
import os
import re
import shutil
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import typer
from conftest import COUNTY_TODAY as TODAY
from typer.testing import CliRunner

from toolkit import jobs as api
from toolkit.cli.counties import consolidate_cmd, county_templates_cmd
from toolkit.core.plan import CellWrite, SheetPlan, WritePlan
from toolkit.counties.consolidate import ConsolidationResult, consolidate_folder
from toolkit.counties.identity import find_ledger_id, read_ledger_id
from toolkit.counties.metadata import DATA_SHEET, META_SHEET
from toolkit.demo.counties import fill_return, run_county_demo, stamp_saved_time
from toolkit.demo.ledger import build_demo_ledger
from toolkit.excel.read import read_workbook
from toolkit.excel.safe_write import write_safely

ON_TIME = datetime(2025, 4, 4, 10, 0)
NOW = datetime(2025, 4, 7, 10, 0)
_DEMO = build_demo_ledger()


@dataclass
class Env:
    master: Path
    templates: dict[str, Path]
    inbox: Path
    root: Path

    def ret(
        self,
        county: str,
        edits: dict,
        name: str | None = None,
        *,
        saved: datetime = ON_TIME,
        filler=("张三", "0763-1234567"),
        mutate=None,
    ) -> Path:
        """A county return: filled like a county would, optionally damaged, stamped with its save time."""
        dest = self.inbox / (name or f"{county}报送.xlsx")
        fill_return(self.templates[county], dest, edits, filler=filler, today=TODAY)
        if mutate is not None:
            wb = openpyxl.load_workbook(dest)
            mutate(wb[DATA_SHEET], wb)
            wb.save(dest)
        stamp_saved_time(dest, saved)
        return dest

    def run(self, **kw) -> ConsolidationResult:
        kw.setdefault("today", TODAY)
        kw.setdefault("now", NOW)
        return consolidate_folder(self.master, self.inbox, report_dir=self.root / "报告", **kw)

    def digest(self) -> str:
        return hashlib.sha256(self.master.read_bytes()).hexdigest()


@pytest.fixture
def env(issued, tmp_path) -> Env:
    master, templates = issued
    m = tmp_path / "台账.xlsx"
    shutil.copy2(master, m)
    inbox = tmp_path / "收件"
    inbox.mkdir()
    return Env(m, templates, inbox, tmp_path)


def task_row(path: Path, tid: str) -> dict:
    table = read_workbook(path)["任务清单"]
    header = table.rows[1]
    row = next(r for r in table.rows[2:] if r[0] == tid)
    return dict(zip(header, row))


def sheet_rows(path: Path, name: str) -> list[list]:
    return read_workbook(path)[name].rows


def codes(f) -> list[str]:
    return [i.code for i in f.issues]


# --------------------------------------------------------------------------------------
# The normal month


def test_accepted_return_updates_master_log_counties_and_snapshot(env):
    env.ret(
        "连州市",
        {
            "1-3": {
                "state": "已完成",
                "completed_on": -5,
                "evidence": "验收纪要（连公路〔2025〕12号）",
                "progress": "三条国道病害路段已修复并验收。",
            }
        },
        name="连州.xlsx",
    )
    env.ret("清新区", {"2-3": {"progress": "已完工5个项目。"}}, filler=("林少华", "13800138000"))
    result = env.run()
    assert [f.status for f in result.files] == ["accepted", "accepted"]
    assert result.written.written and result.written.backup is not None
    row = task_row(env.master, "1-3")
    assert (row["完成情况"], row["完成日期"], row["佐证材料"], row["整改进展"]) == (
        "已完成",
        date(2025, 4, 2),
        "验收纪要（连公路〔2025〕12号）",
        "三条国道病害路段已修复并验收。",
    )
    assert row["【自动】状态"] == "按期完成"  # status recomputed on the merged values
    assert task_row(env.master, "2-3")["整改进展"] == "已完工5个项目。"
    log = sheet_rows(env.master, "变更记录")
    assert log[0] == ["时间", "报送期", "县区", "文件", "任务编号", "字段", "原值", "新值"]
    assert [r[2:6] + [r[7]] for r in log[1:]] == [  # in the order of the 县区 sheet
        ["清新区", "清新区报送.xlsx", "2-3", "整改进展", "已完工5个项目。"],
        ["连州市", "连州.xlsx", "1-3", "完成情况", "已完成"],
        ["连州市", "连州.xlsx", "1-3", "完成日期", "2025-04-02"],
        ["连州市", "连州.xlsx", "1-3", "整改进展", "三条国道病害路段已修复并验收。"],
        ["连州市", "连州.xlsx", "1-3", "佐证材料", "验收纪要（连公路〔2025〕12号）"],
    ]
    assert log[2][:2] == ["2025-04-07 10:00:00", "2025-03"] and log[2][6] == "推进中" and log[3][6] == "（空白）"
    counties = {r[0]: r[3] for r in sheet_rows(env.master, "县区")[1:]}
    assert counties == {
        "清城区": "未报送",
        "清新区": "已报送",
        "英德市": "未报送",
        "连州市": "已报送",
        "佛冈县": "未报送",
        "阳山县": "未报送",
        "连山壮族瑶族自治县": "无需报送",
        "连南瑶族自治县": "未报送",
    }
    monthly = sheet_rows(env.master, "月度进展")
    assert monthly[1][:7] == ["2025-03", TODAY, 50, 36, 9, 2, 5]
    assert monthly[1][7] == pytest.approx(41 / 50)
    assert result.report_path is not None and result.report_path.parent == env.root / "报告"


def test_report_workbook_lists_counties_issues_changes_and_files(env):
    old = task_row(env.master, "1-3")["整改进展"]
    assert old.startswith("加强政治理论学习")
    env.ret("连州市", {"1-3": {"progress": "新进展"}})
    env.ret("阳山县", {"3-1": {"progress": "x"}}, mutate=lambda ws, wb: ws.__setitem__("C9", "改过的措施"))
    result = env.run()
    report = read_workbook(result.report_path)
    assert list(report) == ["汇总", "问题明细", "导入修改", "冲突待核对", "文件清单", "说明"]
    summary = {r[0]: r for r in report["汇总"].rows[1:9]}
    assert summary["连州市"][1] == "已报送" and summary["连州市"][7] == 1
    assert summary["阳山县"][1] == "被退回（只读单元格被修改）"
    assert "请恢复原样" in summary["阳山县"][10]
    issue = next(r for r in report["问题明细"].rows[1:] if r[0] == "阳山县报送.xlsx")
    assert issue[1:6] == ["错误", "阳山县", DATA_SHEET, "C9", "整改措施"] and issue[7] == "readonly-edited"
    assert report["导入修改"].rows[1][2:8] == [
        "1-3",
        "整改进展",
        old,
        "新进展",
        "H9",
        "任务清单!D5",
    ]


def test_county_identified_from_metadata_not_file_name(env):
    env.ret("连州市", {"1-3": {"progress": "连州的进展"}}, name="英德市_整改进展报送表.xlsx")
    result = env.run(dry_run=True)
    [f] = result.files
    assert f.county == "连州市" and f.accepted
    assert result.county("连州市").state == "已报送" and result.county("英德市").state == "未报送"


def test_default_period_is_month_before_today(env):
    env.ret("连州市", {"1-3": {"progress": "p"}})
    assert env.run(dry_run=True).period == "2025-03"
    result = env.run(dry_run=True, today=date(2025, 5, 3))
    assert result.period == "2025-04" and codes(result.files[0]) == ["wrong-period"]


def test_progress_callback_counts_every_file(env):
    env.ret("连州市", {"1-3": {"progress": "p"}})
    (env.inbox / "说明.txt").write_text("不是报送表", encoding="utf-8")
    seen: list[tuple[int, int, str]] = []
    env.run(dry_run=True, progress=lambda done, total, name: seen.append((done, total, name)))
    assert sorted(seen) == [(1, 2, "说明.txt"), (2, 2, "连州市报送.xlsx")]


# --------------------------------------------------------------------------------------
# Idempotence, dry run, nothing accepted


def test_second_run_changes_nothing(env):
    env.ret("连州市", {"1-3": {"state": "已完成", "completed_on": -5, "evidence": "纪要"}})
    first = env.run()
    assert first.written.written
    before = env.digest()
    mtime = env.master.stat().st_mtime_ns
    second = env.run(now=NOW + timedelta(hours=3))
    assert second.changes == [] and not second.written.written and second.written.changes == ()
    assert env.digest() == before and env.master.stat().st_mtime_ns == mtime
    assert len(sheet_rows(env.master, "变更记录")) == 1 + 3


def test_report_is_made_during_the_read_back_and_put_in_place_after_the_write(env, monkeypatch):
    from toolkit.excel import safe_write

    env.ret("连州市", {"1-3": {"progress": "本月进展"}})
    seen: list[list[str]] = []
    original = safe_write._verify

    def verify(temp, orig, prepared, plan, meanwhile=None):
        original(temp, orig, prepared, plan, meanwhile=meanwhile)
        seen.append(sorted(p.name for p in (env.root / "报告").iterdir()))  # made, not yet in place

    monkeypatch.setattr(safe_write, "_verify", verify)
    result = env.run()
    assert result.written.written and result.report_path is not None and result.report_path.is_file()
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0].startswith(".") and seen[0][0].endswith(".xlsx")
    assert [p.name for p in (env.root / "报告").iterdir()] == [result.report_path.name]


def test_a_failed_write_leaves_no_report(env, monkeypatch):
    from toolkit.core.errors import ToolkitError
    from toolkit.excel import safe_write

    env.ret("连州市", {"1-3": {"progress": "本月进展"}})
    before = env.digest()

    def verify(temp, orig, prepared, plan, meanwhile=None):
        if meanwhile is not None:
            meanwhile()  # the report is made, then the read-back fails
        raise safe_write.VerifyFailed("写入后的自检未通过（测试）")

    monkeypatch.setattr(safe_write, "_verify", verify)
    with pytest.raises(ToolkitError, match="自检未通过"):
        env.run()
    assert env.digest() == before
    assert not (env.root / "报告").exists() or list((env.root / "报告").iterdir()) == []


def test_a_report_that_cannot_be_made_ahead_does_not_stop_the_write(env, monkeypatch):
    """As before the report was made during the read-back: the ledger is written first, the report's own
    failure is raised after."""
    from toolkit.counties import report as report_module

    env.ret("连州市", {"1-3": {"progress": "本月进展"}})
    before = env.digest()
    calls: list[int] = []

    def broken(path, result):
        calls.append(1)
        raise PermissionError(13, "拒绝访问", str(path))

    monkeypatch.setattr(report_module, "_write", broken)
    with pytest.raises(PermissionError):
        env.run()
    assert env.digest() != before and task_row(env.master, "1-3")["整改进展"] == "本月进展"
    assert len(calls) == 2  # once ahead (ignored), once after the write (raised)


def test_dry_run_writes_nothing(env):
    env.ret("连州市", {"1-3": {"progress": "试运行的进展"}})
    before = env.digest()
    result = env.run(dry_run=True)
    assert env.digest() == before
    assert result.written.dry_run and not result.written.written
    assert any(c.sheet == "任务清单" and c.cell == "D5" and c.new == "试运行的进展" for c in result.written.changes)
    assert result.report_path is None and not (env.root / "报告").exists() and not (env.root / "台账备份").exists()


def test_every_file_rejected_writes_only_this_periods_county_states(env):
    env.ret("连州市", {"1-3": {"progress": "x"}}, mutate=lambda ws, wb: ws.__setitem__("C9", "改了"))
    (env.inbox / "空.xlsx").write_bytes(b"")
    tasks_before = sheet_rows(env.master, "任务清单")
    result = env.run()
    assert [f.status for f in result.files] == ["rejected", "rejected"]
    assert {c.sheet for c in result.written.changes} == {"县区"}  # nothing else of the ledger moves
    assert sheet_rows(env.master, "任务清单") == tasks_before
    counties = {r[0]: (r[3], r[4]) for r in sheet_rows(env.master, "县区")[1:]}
    assert counties["连州市"] == ("被退回（只读单元格被修改）", "2025年3月")
    assert counties["清城区"] == ("未报送", "2025年3月")
    assert result.report_path.exists()  # the counties still get their reasons
    before = env.digest()
    again = env.run(now=NOW + timedelta(hours=1))
    assert not again.written.written and env.digest() == before


# --------------------------------------------------------------------------------------
# Identity: metadata, period, template version


def test_wrong_period(env):
    env.ret("连州市", {"1-3": {"progress": "p"}})
    [f] = env.run(period="2025-02", dry_run=True).files
    assert f.status == "rejected" and codes(f) == ["wrong-period"]
    assert f.issues[0].message.startswith("这是2025年3月的报送表，本次汇总的是2025年2月")


def test_hand_made_sheet_has_no_metadata(env):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["任务编号", "问题", "整改措施", "完成时限", "延期时限", "完成情况", "完成日期", "整改进展", "佐证材料"])
    ws.append(["1-3", "", "", "", "", "已完成", "2025-04-01", "自制表格", ""])
    wb.save(env.inbox / "连州市自制.xlsx")
    result = env.run(dry_run=True)
    [f] = result.files
    assert codes(f) == ["missing-metadata"] and f.county == "" and f.name_hint == "连州市"
    assert "不要新建或复制到其他文件" in f.issues[0].message
    assert result.county("连州市").state == "未报送"


def _meta_edit(key: str, value: str):
    def mutate(ws, wb):
        meta = wb[META_SHEET]
        for row in meta.iter_rows():
            if row[0].value == key:
                row[1].value = value

    return mutate


def test_tampered_metadata(env):
    env.ret("连州市", {"1-3": {"progress": "p"}}, mutate=_meta_edit("county", "英德市"))
    [f] = env.run(dry_run=True).files
    assert codes(f) == ["metadata-tampered"] and f.county == ""


def test_old_template_version(env):
    env.ret("连州市", {"1-3": {"progress": "p"}}, mutate=_meta_edit("template_version", "0"))
    result = env.run(dry_run=True)
    [f] = result.files
    assert codes(f) == ["old-template"] and f.county == "连州市"
    assert result.county("连州市").text == "被退回（模板版本过旧）"


def test_return_for_another_ledger(env, tmp_path):
    other = copy.deepcopy(_DEMO)
    other.settings.inspection_round = "八届市委第五轮巡察"
    api.new_ledger_workbook(env.master, other, today=TODAY, overwrite=True)
    env.ret("连州市", {"1-3": {"progress": "p"}})
    [f] = env.run(dry_run=True).files
    assert codes(f) == ["other-ledger"]


# --------------------------------------------------------------------------------------
# Structure and read-only cells


def test_readonly_cell_edited(env):
    env.ret(
        "连州市",
        {"1-3": {"progress": "p"}},
        mutate=lambda ws, wb: (ws.__setitem__("C9", "改过的措施"), ws.__setitem__("D10", "2030-01-01")),
    )
    [f] = env.run(dry_run=True).files
    assert [(i.code, i.location.cell, i.location.field) for i in f.issues] == [
        ("readonly-edited", "C9", "整改措施"),
        ("readonly-edited", "D10", "完成时限"),
    ]
    assert f.changes == []


def _insert_row(ws, wb):
    ws.insert_rows(10)
    ws["A10"] = "99-1"
    ws["H10"] = "新增的任务"


def _append_other_county(ws, wb):
    for col, v in zip(
        "ABCDEF", ["2-2", "问题", "加强项目跟进指导，规范完善竣工验收工作。", "2024-12-31", "2025-04-15", "已完成"]
    ):
        ws[f"{col}11"] = v


def _swap_rows(ws, wb):
    for col in "ABCDEFGHIJK":
        ws[f"{col}9"].value, ws[f"{col}10"].value = ws[f"{col}10"].value, ws[f"{col}9"].value


@pytest.mark.parametrize(
    "mutate, code, cell",
    [
        (_insert_row, "row-added", "A10"),
        (lambda ws, wb: ws.delete_rows(10), "row-deleted", ""),
        (_swap_rows, "rows-reordered", "A9"),
        (_append_other_county, "other-county-task", "A11"),
        (lambda ws, wb: ws.insert_rows(9), "row-added", "A9"),
    ],
)
def test_rows_added_deleted_reordered_or_foreign(env, mutate, code, cell):
    env.ret("连州市", {"1-3": {"progress": "p"}}, mutate=mutate)
    [f] = env.run(dry_run=True).files
    assert f.status == "rejected"
    assert (f.issues[0].code, f.issues[0].location.cell) == (code, cell)


def test_other_county_message_names_both_counties(env):
    env.ret("连州市", {"1-3": {"progress": "p"}}, mutate=_append_other_county)
    [f] = env.run(dry_run=True).files
    assert f.issues[0].message.startswith("第11行的任务“2-2”是英德市的任务，不是连州市的任务")


# --------------------------------------------------------------------------------------
# Values in editable cells


@pytest.mark.parametrize(
    "edits, code, cell",
    [
        ({"state": "完成了吗"}, "unknown-state", "F9"),
        ({"state": "已完成", "completed_on": "2025-13-45", "evidence": "e"}, "bad-date", "G9"),
        ({"state": "已完成", "completed_on": 10, "evidence": "e"}, "date-in-future", "G9"),
        ({"state": "已完成", "evidence": "e"}, "done-without-date", "G9"),
        ({"completed_on": -1}, "date-without-done", "G9"),
        ({"state": None}, "state-cleared", "F9"),
    ],
)
def test_bad_editable_values_reject_the_file(env, edits, code, cell):
    env.ret("连州市", {"1-3": edits})
    result = env.run(dry_run=True)
    [f] = result.files
    assert f.status == "rejected" and f.changes == []
    assert (code, cell) in [(i.code, i.location.cell) for i in f.errors]
    assert result.county("连州市").state == "被退回"


def test_staff_date_spellings_are_understood(env):
    env.ret(
        "连州市",
        {
            "1-3": {"state": "已完成整改", "completed_on": "2025年4月1日", "evidence": "纪要"},
            "3-3": {"completed_on": "2024.9.20"},
        },
    )
    [f] = env.run(dry_run=True).files
    assert f.accepted and not f.errors
    assert {(c.task_id, c.key, c.new) for c in f.changes} == {
        ("1-3", "state", "已完成"),
        ("1-3", "completed_on", "2025-04-01"),
        ("1-3", "evidence", "纪要"),
    }


def test_done_without_evidence_is_only_a_warning(env):
    env.ret("连州市", {"1-3": {"state": "已完成", "completed_on": -2}})
    [f] = env.run(dry_run=True).files
    assert f.accepted and codes(f) == ["done-without-evidence"] and f.issues[0].location.cell == "I9"


def test_missing_filler_and_odd_phone_are_warnings(env):
    env.ret("连州市", {"1-3": {"progress": "p"}}, filler=None)
    env.ret("清新区", {"2-3": {"progress": "p"}}, filler=("林少华", "打我电话"))
    files = {f.county: f for f in env.run(dry_run=True).files}
    assert (files["连州市"].accepted, codes(files["连州市"])) == (True, ["missing-filler"])
    assert (files["清新区"].accepted, codes(files["清新区"])) == (True, ["bad-phone"])


def test_formula_looking_text_is_stored_as_text_in_master(env):
    link = '=HYPERLINK("http://evil.example","点我")'
    cmd = "+cmd|' /C calc'!A0"

    def as_text(ws, wb):
        ws["H9"] = link
        ws["H9"].data_type = "s"
        ws["I9"] = cmd
        ws["I9"].data_type = "s"

    env.ret("连州市", {"1-3": {"progress": "placeholder"}}, mutate=as_text)
    result = env.run()
    assert result.files[0].accepted
    row = task_row(env.master, "1-3")
    assert (row["整改进展"], row["佐证材料"]) == (link, cmd)
    xml = _sheet_xml(env.master, "任务清单")
    for ref in ("D5", "L5"):  # 整改进展 / 佐证材料 of task 1-3 (row 5)
        cell = re.search(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', xml, re.S).group(0)
        assert b"<f" not in cell and (b't="s"' in cell or b't="inlineStr"' in cell), cell


def test_real_formula_in_editable_cell_is_refused(env):
    env.ret("连州市", {"1-3": {"progress": "p"}}, mutate=lambda ws, wb: ws.__setitem__("G9", "=TODAY()"))
    [f] = env.run(dry_run=True).files
    assert ("formula-in-cell", "G9") in [(i.code, i.location.cell) for i in f.errors]


def _sheet_xml(path: Path, sheet: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        wb = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
        rid = re.search(rb'<sheet [^>]*name="' + sheet.encode() + rb'"[^>]*r:id="(rId\d+)"', wb).group(1)
        target = re.search(rb'Id="' + rid + rb'"[^>]*Target="([^"]+)"', rels)
        if target is None:
            target = re.search(rb'Target="([^"]+)"[^>]*Id="' + rid + rb'"', rels)
        return zf.read("xl/" + target.group(1).decode().lstrip("/").removeprefix("xl/"))


# --------------------------------------------------------------------------------------
# Conflicts: the center changed the row after issue


def _center_changes(env, **fields):
    """The center edits the master after issue (rebuilt from the model, keeping its 台账编号)."""
    ledger_id = read_ledger_id(read_workbook(env.master))
    ledger = copy.deepcopy(_DEMO)
    for t in ledger.tasks:
        if t.id in fields:
            for k, v in fields[t.id].items():
                setattr(t, k, v)
    api.new_ledger_workbook(env.master, ledger, today=TODAY, overwrite=True)
    set_ledger_id(env.master, ledger_id)


def set_ledger_id(path: Path, ledger_id: str) -> None:
    """Overwrite the 台账编号 cell of 基本信息 (through the lossless writer, as staff could by hand)."""
    cell = find_ledger_id(read_workbook(path))
    plan = WritePlan([SheetPlan(cell.sheet, [CellWrite(cell.row, cell.value_column, ledger_id)],
                                staff_columns=(cell.value_column,))])
    write_safely(path, plan, keep_backups=0)


def test_conflict_withholds_the_row_and_is_reported(env):
    _center_changes(env, **{"1-3": {"progress": "中心在下发后改写的进展"}})
    env.ret(
        "连州市", {"1-3": {"progress": "县区填报的进展", "evidence": "县区佐证"}, "3-3": {"evidence": "3-3 新佐证"}}
    )
    result = env.run()
    [f] = result.files
    assert f.accepted
    assert [(c.task_id, c.key, c.master_now, c.county) for c in f.conflicts] == [
        ("1-3", "progress", "中心在下发后改写的进展", "县区填报的进展")
    ]
    assert {(c.task_id, c.key) for c in f.changes} == {("3-3", "evidence")}  # 1-3's evidence waits with its row
    row = task_row(env.master, "1-3")
    assert (row["整改进展"], row["佐证材料"]) == ("中心在下发后改写的进展", None)
    assert task_row(env.master, "3-3")["佐证材料"] == "3-3 新佐证"
    conflicts = read_workbook(result.report_path)["冲突待核对"].rows
    assert conflicts[1][:6] == [
        "连州市",
        "连州市报送.xlsx",
        "1-3",
        "整改进展",
        "中心在下发后改写的进展",
        "县区填报的进展",
    ]


def test_no_conflict_when_county_agrees_with_center(env):
    _center_changes(env, **{"1-3": {"progress": "同一句话"}})
    env.ret("连州市", {"1-3": {"progress": "同一句话"}})
    [f] = env.run(dry_run=True).files
    assert f.accepted and f.conflicts == [] and f.changes == []


def test_signed_off_since_issue_is_a_conflict(env):
    _center_changes(env, **{"3-3": {"signed_off_on": date(2025, 4, 3), "signed_off_by": "整改办 李国强"}})
    env.ret("连州市", {"3-3": {"evidence": "补充佐证"}})
    [f] = env.run(dry_run=True).files
    assert [(c.task_id, c.key) for c in f.conflicts] == [("3-3", "evidence")] and f.changes == []


# --------------------------------------------------------------------------------------
# Two files from one county


def test_later_strict_update_wins(env):
    env.ret("连州市", {"1-3": {"progress": "路面修复完成一半。"}}, name="v1.xlsx", saved=datetime(2025, 4, 3, 9))
    env.ret(
        "连州市",
        {
            "1-3": {
                "progress": "路面修复完成一半。4月2日全部完工。",
                "state": "已完成",
                "completed_on": -5,
                "evidence": "验收纪要",
            }
        },
        name="v2.xlsx",
        saved=datetime(2025, 4, 4, 9),
    )
    result = env.run()
    v1, v2 = result.files
    assert (v1.status, v2.status) == ("superseded", "accepted")
    assert "v2.xlsx" in v1.note and "取代" in v1.note
    assert task_row(env.master, "1-3")["整改进展"] == "路面修复完成一半。4月2日全部完工。"
    assert {a.file for a in result.changes} == {"v2.xlsx"}


def test_inconsistent_duplicates_are_both_rejected(env):
    env.ret(
        "连州市",
        {"1-3": {"state": "已完成", "completed_on": -5, "evidence": "e"}},
        name="a.xlsx",
        saved=datetime(2025, 4, 3, 9),
    )
    env.ret(
        "连州市", {"1-3": {"state": "推进中", "progress": "其实还没完成"}}, name="b.xlsx", saved=datetime(2025, 4, 4, 9)
    )
    before = sheet_rows(env.master, "任务清单")
    result = env.run()
    assert [codes(f) for f in result.files] == [["duplicate-inconsistent"]] * 2
    assert "完成情况”：前一份为“已完成”，后一份为“推进中”" in result.files[0].issues[0].message
    assert result.county("连州市").text == "被退回（多份报送内容不一致）"
    assert sheet_rows(env.master, "任务清单") == before


def test_later_file_in_a_later_run_builds_on_the_earlier(env):
    env.ret("连州市", {"1-3": {"progress": "第一稿"}}, name="v1.xlsx", saved=datetime(2025, 4, 3, 9))
    env.run()
    env.ret("连州市", {"1-3": {"progress": "第一稿；补充第二稿"}}, name="v2.xlsx", saved=datetime(2025, 4, 4, 9))
    result = env.run(now=NOW + timedelta(hours=1))
    # The master's 1-3 progress came from 连州市's own v1: not a center change, so no conflict.
    assert [f.status for f in result.files] == ["superseded", "accepted"] and result.conflicts == []
    assert task_row(env.master, "1-3")["整改进展"] == "第一稿；补充第二稿"
    log = sheet_rows(env.master, "变更记录")
    assert [r[7] for r in log[1:]] == ["第一稿", "第一稿；补充第二稿"]  # append-only: run 1's row kept


# --------------------------------------------------------------------------------------
# Late returns


def test_late_return_is_accepted_and_marked(env):
    env.ret("英德市", {"2-2": {"progress": "补报"}}, saved=datetime(2025, 4, 6, 16, 30))
    result = env.run()
    [f] = result.files
    assert f.accepted and f.late and f.time_source == "文件属性中的最后保存时间"
    assert {r[0]: r[3] for r in sheet_rows(env.master, "县区")[1:]}["英德市"] == "逾期报送"
    assert env.run(dry_run=True, deadline=date(2025, 4, 10)).county("英德市").state == "已报送"


def test_saved_time_before_issue_falls_back_to_file_mtime(env):
    path = env.ret("英德市", {"2-2": {"progress": "p"}}, saved=datetime(2020, 1, 1, 9))
    late = datetime(2025, 4, 6, 12).timestamp()
    os.utime(path, (late, late))
    [f] = env.run(dry_run=True).files
    assert f.time_source == "文件修改时间" and f.late


# --------------------------------------------------------------------------------------
# Files that are not returns at all, or are hostile


def _docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def _replace_member(src: Path, dest: Path, name: str, data: bytes, *, extra: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, data if info.filename == name else zin.read(info.filename))
        for k, v in (extra or {}).items():
            zout.writestr(k, v)


def test_every_bad_file_is_rejected_with_a_reason_and_the_good_one_still_lands(env):
    good = env.ret("连州市", {"1-3": {"progress": "好文件"}})
    t = env.templates["清新区"]
    (env.inbox / "改名的Word.xlsx").write_bytes(_docx_bytes())
    (env.inbox / "扫描件.xlsx").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n")
    (env.inbox / "清新区.txt").write_text("任务编号,完成情况\n2-3,已完成\n", encoding="utf-8")
    (env.inbox / "空文件.xlsx").write_bytes(b"")
    data = t.read_bytes()
    (env.inbox / "传输中断.xlsx").write_bytes(data[: len(data) // 2])
    shutil.copy(t, env.inbox / "清新区.xlsm")
    shutil.copy(t, env.inbox / "清新区.xlam")
    _replace_member(t, env.inbox / "藏宏.xlsx", "docProps/app.xml", b"", extra={"xl/vbaProject.bin": b"\x00" * 64})
    bomb_sheet = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b" " * (60 * 2**20)
        + b"<sheetData/></worksheet>"
    )
    _replace_member(t, env.inbox / "炸弹.xlsx", "xl/worksheets/sheet1.xml", bomb_sheet)
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>'
    )
    _replace_member(t, env.inbox / "实体.xlsx", "xl/sharedStrings.xml", xxe)
    far = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )
    _replace_member(t, env.inbox / "巨大.xlsx", "xl/worksheets/sheet1.xml", far)
    result = env.run()
    by_name = {f.name: f for f in result.files}
    expected = {
        "改名的Word.xlsx": "wrong-format",
        "扫描件.xlsx": "pdf",
        "清新区.txt": "text",
        "空文件.xlsx": "empty-file",
        "传输中断.xlsx": "corrupt",
        "清新区.xlsm": "macro-file",
        "清新区.xlam": "macro-file",
        "藏宏.xlsx": "macro-file",
        "炸弹.xlsx": "zip-bomb",
        "实体.xlsx": "xml-dtd",
        "巨大.xlsx": "too-many-cells",
    }
    for name, code in expected.items():
        f = by_name[name]
        assert (f.status, f.errors[0].code) == ("rejected", code), (name, f.issues)
        assert "请" in f.errors[0].message, f.errors[0].message  # every reason says how to fix it
    assert by_name[good.name].accepted
    assert [(a.file, a.change.task_id) for a in result.changes] == [(good.name, "1-3")]
    assert task_row(env.master, "1-3")["整改进展"] == "好文件"
    assert result.county("清新区").state == "未报送"  # nothing credible named 清新区


def test_lock_files_hidden_and_toolkit_folders_are_skipped(env):
    env.ret("连州市", {"1-3": {"progress": "p"}})
    (env.inbox / "~$连州市报送.xlsx").write_bytes(b"\x05owner")
    for folder in ("__MACOSX", ".git", "县区报送汇总", "台账备份", "县区报送表-下发", "报告副本"):
        (env.inbox / folder).mkdir()
        (env.inbox / folder / "x.xlsx").write_bytes(b"")
    result = consolidate_folder(env.master, env.inbox, today=TODAY, now=NOW, dry_run=True,
                                report_dir=env.inbox / "报告副本")
    assert [f.name for f in result.files] == ["连州市报送.xlsx"]
    assert sorted(p.name for p, _ in result.ignored) == sorted(
        ["~$连州市报送.xlsx", "__MACOSX", ".git", "县区报送汇总", "台账备份", "县区报送表-下发", "报告副本"]
    )


def test_open_ledger_is_refused_without_writing(env):
    env.ret("连州市", {"1-3": {"progress": "p"}})
    lock = env.master.with_name("~$" + env.master.name)
    lock.write_bytes(b"\x04user" + b"\x00" * 50)
    before = env.digest()
    with pytest.raises(api.ToolkitError):
        env.run()
    assert env.digest() == before


def test_missing_inbox_is_a_toolkit_error(env):
    with pytest.raises(api.ToolkitError, match="找不到报送文件夹"):
        consolidate_folder(env.master, env.root / "没有这个文件夹", today=TODAY)


# --------------------------------------------------------------------------------------
# The demo and the CLI


def test_demo_cycle_tells_its_story(tmp_path):
    master = tmp_path / "示例台账.xlsx"
    api.new_ledger_workbook(master, copy.deepcopy(_DEMO), today=TODAY)
    result = run_county_demo(master, tmp_path, today=TODAY)
    states = {c.county: c.text for c in result.counties}
    assert states == {
        "清城区": "已报送",
        "清新区": "已报送",
        "英德市": "逾期报送",
        "连州市": "已报送",
        "佛冈县": "未报送",
        "阳山县": "被退回（只读单元格被修改）",
        "连山壮族瑶族自治县": "无需报送",
        "连南瑶族自治县": "未报送",
    }
    assert {f.name: f.errors[0].code for f in result.rejected} == {
        "佛冈县整改进展.xlsx": "corrupt",
        "阳山县.xlsx": "readonly-edited",
    }
    assert task_row(master, "1-3")["完成情况"] == "已完成"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("county-templates")(county_templates_cmd)
    app.command("consolidate")(consolidate_cmd)
    return app


def test_cli_templates_and_consolidate_exit_codes(issued, tmp_path):
    master = tmp_path / "台账.xlsx"
    shutil.copy2(issued[0], master)
    runner = CliRunner()
    out = runner.invoke(_app(), ["county-templates", str(master), "--today", "2025-04-07", "--deadline", "2025-04-10"])
    assert out.exit_code == 0, out.output
    assert "已生成 7 份县区报送表" in out.output and "报回截止日期：2025-04-10" in out.output
    templates = tmp_path / "县区报送表-下发"
    inbox = tmp_path / "收件"
    inbox.mkdir()
    fill_return(
        templates / "2025-03_连州市_整改进展报送表.xlsx",
        inbox / "连州.xlsx",
        {"1-3": {"progress": "CLI"}},
        filler=("莫建国", "0763-6612345"),
        today=TODAY,
    )
    stamp_saved_time(inbox / "连州.xlsx", datetime(2025, 4, 8, 9))
    out = runner.invoke(_app(), ["consolidate", str(master), str(inbox), "--today", "2025-04-07", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "试运行：将修改台账" in out.output and "已报送" in out.output
    (inbox / "坏.xlsx").write_bytes(b"")
    out = runner.invoke(_app(), ["consolidate", str(master), str(inbox), "--today", "2025-04-07"])
    assert out.exit_code == 1, out.output
    assert "已写回台账" in out.output and "汇总报告" in out.output and "文件是空的" in out.output
    out = runner.invoke(_app(), ["consolidate", str(master), str(tmp_path / "无"), "--today", "2025-04-07"])
    assert out.exit_code == 2 and "找不到县区报送文件夹" in out.output
    out = runner.invoke(_app(), ["consolidate", str(master), str(inbox), "--period", "2025-13"])
    assert out.exit_code == 2 and "报送期“2025-13”无法识别" in out.output


def test_cli_default_deadline_printed_is_the_as_of_dates(issued, tmp_path):
    master = tmp_path / "台账.xlsx"
    shutil.copy2(issued[0], master)  # 统计截止日期 2025-04-07
    out = CliRunner().invoke(_app(), ["county-templates", str(master)])
    assert out.exit_code == 0, out.output
    assert "报回截止日期：2025-04-14" in out.output


# --------------------------------------------------------------------------------------
# Regression: lateness judged in the server's time zone


@pytest.fixture(params=["UTC", "America/Los_Angeles", "Asia/Shanghai"])
def server_tz(request):
    """Run the test as on a server in another time zone (TZ + time.tzset)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_lateness_from_file_mtime_is_judged_in_china_time_whatever_the_server_zone(env, server_tz):
    # No usable saved time in the properties (before issue): the file's mtime counts.
    late = env.ret("英德市", {"2-2": {"progress": "补报"}}, saved=datetime(2020, 1, 1, 9))
    on_time = env.ret("连州市", {"1-3": {"progress": "按时"}}, saved=datetime(2020, 1, 1, 9))
    # 2025-04-06 00:30 in China is still 2025-04-05 in UTC: a day after the 04-05 deadline in China.
    ts = datetime(2025, 4, 5, 16, 30, tzinfo=UTC).timestamp()
    os.utime(late, (ts, ts))
    # 2025-04-05 23:30 in China (15:30 UTC): on the last day, not late.
    ts = datetime(2025, 4, 5, 15, 30, tzinfo=UTC).timestamp()
    os.utime(on_time, (ts, ts))
    result = env.run(dry_run=True)
    by_name = {f.name: f for f in result.files}
    f = by_name[late.name]
    assert (f.time_source, f.submitted_at, f.late) == ("文件修改时间", datetime(2025, 4, 6, 0, 30), True)
    g = by_name[on_time.name]
    assert (g.submitted_at, g.late) == (datetime(2025, 4, 5, 23, 30), False)
    assert result.county("英德市").state == "逾期报送" and result.county("连州市").state == "已报送"


def test_stamped_saved_time_reads_back_in_china_time_whatever_the_server_zone(env, server_tz):
    path = env.ret("英德市", {"2-2": {"progress": "p"}}, saved=datetime(2025, 4, 6, 0, 30))
    [f] = env.run(dry_run=True).files
    assert (f.time_source, f.submitted_at, f.late) == ("文件属性中的最后保存时间", datetime(2025, 4, 6, 0, 30), True)
    assert path.stat().st_mtime == datetime(2025, 4, 5, 16, 30, tzinfo=UTC).timestamp()


# --------------------------------------------------------------------------------------
# Regression: inbox policy (subfolders, empty inbox, the period of the 县区 states)


def test_returns_in_county_subfolders_are_read_and_named_by_their_path(env):
    (env.inbox / "英德市").mkdir()
    (env.inbox / "连州市").mkdir()
    env.ret("英德市", {"2-2": {"progress": "英德"}}, name="英德市/整改进展报送表.xlsx")
    env.ret("连州市", {"1-3": {"progress": "连州"}}, name="连州市/整改进展报送表.xlsx")
    result = env.run()
    assert [(f.name, f.status) for f in result.files] == [
        ("英德市/整改进展报送表.xlsx", "accepted"),
        ("连州市/整改进展报送表.xlsx", "accepted"),
    ]
    assert {a.file for a in result.changes} == {"英德市/整改进展报送表.xlsx", "连州市/整改进展报送表.xlsx"}
    assert task_row(env.master, "2-2")["整改进展"] == "英德" and task_row(env.master, "1-3")["整改进展"] == "连州"
    summary = {r[0]: r[3] for r in read_workbook(result.report_path)["汇总"].rows[1:9]}
    assert summary["英德市"] == "英德市/整改进展报送表.xlsx"


def test_empty_inbox_is_said_plainly(env):
    result = env.run()
    assert result.no_files and result.files == []
    [note] = result.notes
    assert note.code == "empty-inbox" and note.message.startswith("没有报送文件：") and "请把县区报回" in note.message
    assert {c.state for c in result.counties} <= {"未报送", "无需报送"}
    out = CliRunner().invoke(_app(), ["consolidate", str(env.master), str(env.inbox), "--today", "2025-04-07"])
    assert out.exit_code == 0, out.output
    assert "没有报送文件" in out.output and "Traceback" not in out.output


def test_county_sheet_says_which_period_its_states_belong_to(env):
    env.ret("连州市", {"1-3": {"progress": "p"}})
    env.run()
    rows = sheet_rows(env.master, "县区")
    assert rows[0][3:5] == ["【自动】本期报送", "【自动】报送期"]
    assert {r[0]: (r[3], r[4]) for r in rows[1:]}["连州市"] == ("已报送", "2025年3月")
    assert {r[4] for r in rows[1:]} == {"2025年3月"}


def test_month_with_nothing_accepted_shows_that_months_states_not_last_months(env):
    env.ret("连州市", {"1-3": {"progress": "三月的进展"}})
    env.ret("英德市", {"2-2": {"progress": "补报"}}, saved=datetime(2025, 4, 6, 16, 30))
    env.run()
    states = {r[0]: (r[3], r[4]) for r in sheet_rows(env.master, "县区")[1:]}
    assert states["连州市"] == ("已报送", "2025年3月") and states["英德市"] == ("逾期报送", "2025年3月")
    april = env.root / "四月收件"
    april.mkdir()
    result = consolidate_folder(
        env.master, april, period="2025-04", today=date(2025, 5, 7), now=NOW, report_dir=env.root / "报告"
    )
    assert result.no_files and result.written.written
    states = {r[0]: (r[3], r[4]) for r in sheet_rows(env.master, "县区")[1:]}
    assert states["连州市"] == ("未报送", "2025年4月") and states["英德市"] == ("未报送", "2025年4月")
    assert states["连山壮族瑶族自治县"] == ("无需报送", "2025年4月")
    assert task_row(env.master, "1-3")["整改进展"] == "三月的进展"


# --------------------------------------------------------------------------------------
# Architecture: no cycle inside counties, no front end imported, pure checks kept pure


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_counties_modules_form_no_import_cycle_and_import_no_front_end():
    folder = Path(__file__).resolve().parents[1] / "toolkit" / "counties"
    graph = {
        p.stem: {m.removeprefix("toolkit.counties.") for m in _imports(p) if m.startswith("toolkit.counties.")}
        for p in folder.glob("*.py")
    }
    for p in folder.glob("*.py"):
        bad = [m for m in _imports(p) if m.split(".")[:2] in (["toolkit", "jobs"], ["toolkit", "cli"])
               or m == "toolkit.macros"]
        assert not bad, (p.name, bad)

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    assert [m for m in graph if reaches(m, m, set())] == []
    assert "consolidate" not in graph["report"] and "model" in graph["report"]
    for pure in ("metadata", "returns", "model"):
        heavy = {m for m in _imports(folder / f"{pure}.py") if m.startswith(("xlsxwriter", "openpyxl", "toolkit.excel"))}
        assert not heavy, (pure, heavy)

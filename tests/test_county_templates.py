"""County templates: content, protection, hidden metadata, and metadata surviving re-saves."""

from __future__ import annotations

import copy
import shutil
import subprocess
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from conftest import COUNTY_DEADLINE as DEADLINE
from conftest import COUNTY_ISSUED as ISSUED
from conftest import COUNTY_TODAY as TODAY

from toolkit import jobs as api
from toolkit.counties.consolidate import consolidate_folder
from toolkit.counties.metadata import (
    DATA_SHEET,
    HEADERS,
    META_SHEET,
    MetadataError,
    parse_meta,
    parse_period,
    previous_period,
)
from toolkit.counties.returns import probe_zip
from toolkit.counties.template import make_county_templates, read_template_meta
from toolkit.demo.counties import fill_return
from toolkit.demo.ledger import build_demo_ledger
from toolkit.excel.read import describe_sheets, read_workbook

_DEMO = build_demo_ledger()


def test_one_template_per_county_with_open_tasks(issued):
    _, templates = issued
    assert sorted(templates) == sorted(["清城区", "清新区", "英德市", "连州市", "佛冈县", "阳山县", "连南瑶族自治县"])
    assert templates["英德市"].name == "2025-03_英德市_整改进展报送表.xlsx"


def test_template_holds_only_that_countys_tasks(issued):
    _, templates = issued
    tables = read_workbook(templates["阳山县"])
    data = tables[DATA_SHEET]
    assert data.rows[7] == list(HEADERS)
    ids = [r[0] for r in data.rows[8:]]
    expected = [t.id for t in _DEMO.tasks if t.unit == "阳山县" and t.signed_off_on is None]
    assert ids == expected == ["3-1", "13-2"]
    row = data.rows[8]
    assert row[3] == date(2025, 4, 11) and row[5] == "推进中"


def test_signed_off_tasks_are_left_out(tmp_path):
    ledger = copy.deepcopy(_DEMO)
    t = next(t for t in ledger.tasks if t.id == "3-3")  # 连州市, done, not yet signed off
    t.signed_off_on, t.signed_off_by = date(2025, 1, 10), "整改办 李国强"
    master = tmp_path / "台账.xlsx"
    api.new_ledger_workbook(master, ledger, today=TODAY)
    paths = make_county_templates(master, out_dir=tmp_path / "t", period="2025-03", now=ISSUED)
    lianzhou = next(p for p in paths if "连州市" in p.name)
    assert [r[0] for r in read_workbook(lianzhou)[DATA_SHEET].rows[8:]] == ["1-3"]


def test_readonly_columns_locked_and_grey_editable_open(issued):
    _, templates = issued
    wb = openpyxl.load_workbook(templates["连州市"])
    ws = wb[DATA_SHEET]
    assert ws.protection.sheet is True
    for ref in ("A9", "B9", "C9", "D9", "E9"):
        assert ws[ref].protection.locked is True, ref
        assert ws[ref].fill.fgColor.rgb.endswith("E7E6E6"), ref
    for ref in ("F9", "G9", "H9", "I9", "J9", "K9"):
        assert ws[ref].protection.locked is False, ref
    assert ws["H9"].number_format == "@"  # '=...' typed there stays text
    assert ws["G9"].number_format == "yyyy-mm-dd"
    kinds = {(dv.type, str(dv.sqref)) for dv in ws.data_validations.dataValidation}
    assert ("list", "F9:F10") in kinds and ("date", "G9:G10") in kinds
    state_list = next(dv for dv in ws.data_validations.dataValidation if dv.type == "list")
    assert state_list.formula1 == '"未启动,推进中,已完成,长期坚持,基本完成"'  # 基本完成 (issue 13)
    assert wb[META_SHEET].sheet_state == "veryHidden"
    notes = " ".join(str(ws.cell(r, 1).value) for r in range(2, 7))
    for words in ("2025年3月", "2025年4月5日前", "灰色列", "不要增加、删除或调换行的顺序", ".xlsx", "填报人"):
        assert words in notes


def test_metadata_binds_county_period_ledger_and_fingerprint(issued):
    _, templates = issued
    tables = read_workbook(templates["连州市"])
    meta = parse_meta(tables)
    assert (meta.county, meta.period, meta.template_version) == ("连州市", "2025-03", 1)
    assert meta.issued_at == ISSUED and meta.return_deadline == DEADLINE
    assert [r.task_id for r in meta.rows] == ["1-3", "3-3"] and [r.row for r in meta.rows] == [9, 10]
    assert meta.fingerprint == meta.compute_fingerprint() and len(meta.fingerprint) == 32
    assert describe_sheets(templates["连州市"])[1].visible == "very_hidden"


def test_metadata_without_magic_is_missing():
    from toolkit.core.model import Table

    with pytest.raises(MetadataError) as err:
        parse_meta({"Sheet1": Table("Sheet1", [["任务编号", "完成情况"]])})
    assert err.value.code == "missing-metadata"
    assert "不是本系统下发的报送表" in err.value.message


def test_default_period_is_previous_month(tmp_path):
    master = tmp_path / "台账.xlsx"
    api.new_ledger_workbook(master, copy.deepcopy(_DEMO), today=TODAY)
    paths = make_county_templates(master, out_dir=tmp_path / "t", today=date(2025, 1, 15), now=ISSUED)
    assert all(p.name.startswith("2024-12_") for p in paths)
    assert previous_period(date(2025, 3, 31)) == "2025-02"
    assert parse_period("2025年3月") == parse_period("202503") == parse_period("2025-3") == "2025-03"
    with pytest.raises(ValueError, match="请写成 年-月"):
        parse_period("2025-13")


def test_ambiguous_task_ids_refused(tmp_path):
    ledger = copy.deepcopy(_DEMO)
    twin = copy.deepcopy(next(t for t in ledger.tasks if t.id == "2-2"))
    ledger.tasks.append(twin)
    master = tmp_path / "台账.xlsx"
    api.new_ledger_workbook(master, ledger, today=TODAY)
    with pytest.raises(api.ToolkitError, match="任务编号“2-2”重复"):
        make_county_templates(master, out_dir=tmp_path / "t", period="2025-03")
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())


def test_no_county_tasks_refused(tmp_path):
    ledger = copy.deepcopy(_DEMO)
    for t in ledger.tasks:
        if t.unit in {c.name for c in ledger.counties}:
            t.unit = "办公室"
    master = tmp_path / "台账.xlsx"
    api.new_ledger_workbook(master, ledger, today=TODAY)
    with pytest.raises(api.ToolkitError, match="没有责任单位为县区的未销号任务"):
        make_county_templates(master, out_dir=tmp_path / "t", period="2025-03")


def test_formula_looking_task_text_is_written_as_text(tmp_path):
    ledger = copy.deepcopy(_DEMO)
    t = next(t for t in ledger.tasks if t.id == "1-3")
    t.measure = '=HYPERLINK("http://example.com","点我")'
    t.progress = "+cmd|' /C calc'!A0"
    master = tmp_path / "台账.xlsx"
    api.new_ledger_workbook(master, ledger, today=TODAY)
    path = next(
        p
        for p in make_county_templates(master, out_dir=tmp_path / "t", period="2025-03", now=ISSUED)
        if "连州市" in p.name
    )
    assert probe_zip(path, (DATA_SHEET,)).formulas == {}
    row = read_workbook(path)[DATA_SHEET].rows[8]
    assert row[2] == t.measure and row[7] == t.progress


def _filled(issued, tmp_path) -> tuple[Path, Path]:
    master, templates = issued
    m = tmp_path / "台账.xlsx"
    shutil.copy2(master, m)
    filled = tmp_path / "filled.xlsx"
    fill_return(
        templates["连州市"],
        filled,
        {
            "1-3": {
                "state": "已完成",
                "completed_on": -3,
                "evidence": "验收纪要",
                "progress": "三条国道病害路段已修复。",
            }
        },
        filler=("莫建国", "0763-6612345"),
        today=TODAY,
    )
    return m, filled


def test_metadata_survives_openpyxl_resave(issued, tmp_path):
    m, filled = _filled(issued, tmp_path)
    inbox = tmp_path / "收件"
    inbox.mkdir()
    wb = openpyxl.load_workbook(filled)  # a second openpyxl round trip on top of the filling one
    wb.save(inbox / "连州市（openpyxl）.xlsx")
    result = consolidate_folder(m, inbox, today=TODAY, dry_run=True, deadline=date(2100, 1, 1))
    [f] = result.files
    assert f.accepted and f.county == "连州市" and not f.errors
    assert {(c.task_id, c.key, c.new) for c in f.changes} == {
        ("1-3", "state", "已完成"),
        ("1-3", "completed_on", "2025-04-04"),
        ("1-3", "evidence", "验收纪要"),
        ("1-3", "progress", "三条国道病害路段已修复。"),
    }


@pytest.mark.slow
@pytest.mark.requires("soffice")
def test_metadata_survives_libreoffice_resave(issued, tmp_path):
    m, filled = _filled(issued, tmp_path)
    out = tmp_path / "lo"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--headless",
            "--calc",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out),
            str(filled),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    inbox = tmp_path / "收件"
    inbox.mkdir()
    shutil.move(out / "filled.xlsx", inbox / "连州市（LibreOffice）.xlsx")
    assert describe_sheets(inbox / "连州市（LibreOffice）.xlsx")[1].visible in ("hidden", "very_hidden")
    result = consolidate_folder(m, inbox, today=TODAY, dry_run=True, deadline=date(2100, 1, 1))
    [f] = result.files
    assert f.accepted and f.county == "连州市" and not f.errors, f.issues
    assert {(c.key, c.new) for c in f.changes} == {
        ("state", "已完成"),
        ("completed_on", "2025-04-04"),
        ("evidence", "验收纪要"),
        ("progress", "三条国道病害路段已修复。"),
    }


def test_default_return_deadline_follows_the_as_of_date_not_the_clock(tmp_path):
    """Regression: the default 报回截止日期 came from the machine clock even when 统计截止日期 was set."""
    master = tmp_path / "台账.xlsx"
    ledger = copy.deepcopy(_DEMO)
    ledger.settings.as_of = date(2025, 4, 7)  # 基本信息 统计截止日期
    api.new_ledger_workbook(master, ledger, today=TODAY)
    [first, *_] = make_county_templates(master, out_dir=tmp_path / "t")
    meta = read_template_meta(first)
    assert meta.return_deadline == date(2025, 4, 14)
    assert meta.issued_at.date() == date(2025, 4, 7) and first.name.startswith("2025-03_")
    [first, *_] = make_county_templates(master, out_dir=tmp_path / "t2", today=date(2025, 5, 6))
    assert read_template_meta(first).return_deadline == date(2025, 5, 13)

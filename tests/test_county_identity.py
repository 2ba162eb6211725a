"""Which ledger a county return belongs to: the 台账编号 stored in 基本信息, not a hash of editable settings."""

from __future__ import annotations

import copy
import shutil
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import COUNTY_TODAY as TODAY

from toolkit import jobs as api
from toolkit.core.intake import load_ledger
from toolkit.core.plan import CellWrite, SheetPlan, WritePlan
from toolkit.core.schema import normalize_header
from toolkit.counties.consolidate import consolidate_folder
from toolkit.counties.identity import ensure_ledger_id, find_ledger_id, plan_ledger_id, read_ledger_id
from toolkit.counties.metadata import META_SHEET, legacy_ledger_identity
from toolkit.counties.template import make_county_templates, read_template_meta
from toolkit.demo.counties import fill_return, stamp_saved_time
from toolkit.demo.ledger import build_demo_ledger
from toolkit.excel.build import LEDGER_ID_LABEL
from toolkit.excel.read import read_workbook
from toolkit.excel.safe_write import write_safely

NOW = datetime(2025, 4, 7, 10, 0)
ISSUED = datetime(2025, 4, 1, 9, 0)
_DEMO = build_demo_ledger()


def set_cell(path: Path, sheet: str, row: int, column: str, value) -> None:
    """A staff edit of one cell, through the lossless writer (no backup)."""
    plan = WritePlan([SheetPlan(sheet, [CellWrite(row, column, value)], staff_columns=(column,))])
    write_safely(path, plan, keep_backups=0)


def set_setting(path: Path, label: str, value) -> None:
    """Change the value right of ``label`` in 基本信息 (as staff would by hand)."""
    table = read_workbook(path)["基本信息"]
    for i, row in enumerate(table.rows):
        if isinstance(row[0], str) and normalize_header(row[0]) == label:
            set_cell(path, "基本信息", table.excel_row(i), "B", value)
            return
    raise AssertionError(label)


def remove_ledger_id(path: Path) -> None:
    """An old ledger: no 台账编号 row (label and value emptied)."""
    cell = find_ledger_id(read_workbook(path))
    cells = [CellWrite(cell.row, c, None) for c in ("A", "B", "C")]
    write_safely(path, WritePlan([SheetPlan(cell.sheet, cells, staff_columns=("A", "B", "C"))]), keep_backups=0)


def new_master(path: Path, **settings) -> Path:
    ledger = copy.deepcopy(_DEMO)
    for k, v in settings.items():
        setattr(ledger.settings, k, v)
    api.new_ledger_workbook(path, ledger, today=TODAY)
    return path


def issue(master: Path, out: Path, **kw) -> dict[str, Path]:
    kw.setdefault("today", TODAY)
    kw.setdefault("now", ISSUED)
    kw.setdefault("return_deadline", date(2025, 4, 5))
    return {p.name.split("_")[1]: p for p in make_county_templates(master, out_dir=out, **kw)}


def county_return(template: Path, inbox: Path, name: str = "连州市报送.xlsx") -> Path:
    inbox.mkdir(exist_ok=True)
    dest = fill_return(template, inbox / name, {"1-3": {"progress": "本期进展"}}, filler=("莫建国", "0763-1"), today=TODAY)
    stamp_saved_time(dest, datetime(2025, 4, 4, 10))
    return dest


def differing(message: str) -> str:
    """The part of an other-ledger message that lists what differs (before the advice)."""
    assert message.startswith("报送表属于另一本台账"), message
    return message.split("与本台账不一致的是：", 1)[1].split("。", 1)[0]


def run(master: Path, inbox: Path, tmp_path: Path):
    return consolidate_folder(master, inbox, today=TODAY, now=NOW, dry_run=True, report_dir=tmp_path / "报告")


@pytest.fixture
def master(tmp_path) -> Path:
    return new_master(tmp_path / "台账.xlsx")


# --------------------------------------------------------------------------------------
# The id itself


def test_init_writes_a_ledger_id_row_into_settings(master):
    table = read_workbook(master)["基本信息"]
    rows = [r for r in table.rows if r[0] == LEDGER_ID_LABEL]
    assert len(rows) == 1 and len(rows[0][1]) == 36 and rows[0][1].count("-") == 4  # a UUID
    assert "请勿修改" in rows[0][2]
    assert read_ledger_id(read_workbook(master)) == rows[0][1]
    ledger, issues = load_ledger(read_workbook(master), source=master.name)
    assert not [i for i in issues if i.is_error]  # the extra row upsets nothing
    other = new_master(master.with_name("另一本.xlsx"))
    assert read_ledger_id(read_workbook(other)) != rows[0][1]


def test_templates_carry_the_ledger_id_and_inspection_round(master, tmp_path):
    templates = issue(master, tmp_path / "下发")
    meta = read_template_meta(templates["连州市"])
    assert meta.ledger_id == read_ledger_id(read_workbook(master))
    assert (meta.unit_name, meta.inspection_round) == ("清远市公路事务中心", "八届市委第四轮巡察")


def test_old_ledger_gets_its_id_from_the_first_templates_run_losslessly(master, tmp_path):
    remove_ledger_id(master)
    assert read_ledger_id(read_workbook(master)) == ""
    before = {n: t.rows for n, t in read_workbook(master).items()}
    templates = issue(master, tmp_path / "下发")
    after = read_workbook(master)
    ledger_id = read_ledger_id(after)
    assert ledger_id and read_template_meta(templates["连州市"]).ledger_id == ledger_id
    assert list((tmp_path / "台账备份").glob("*.xlsx"))  # written through write_safely: a backup first
    changed = {n for n, t in after.items() if t.rows != before[n]}
    assert changed == {"基本信息"}
    cell = find_ledger_id(after)
    settings = after["基本信息"].rows
    assert settings[cell.row - 1][:3] == [LEDGER_ID_LABEL, ledger_id, settings[cell.row - 1][2]]
    # The second run finds the id and writes nothing.
    digest = master.read_bytes()
    again = issue(master, tmp_path / "下发2")
    assert master.read_bytes() == digest and read_template_meta(again["连州市"]).ledger_id == ledger_id


def test_ensure_ledger_id_fills_a_blank_value_next_to_an_existing_label(master):
    cell = find_ledger_id(read_workbook(master))
    set_cell(master, cell.sheet, cell.row, cell.value_column, None)
    new_id, written = ensure_ledger_id(master, read_workbook(master))
    assert written is not None and written.written
    assert [(c.sheet, c.cell) for c in written.changes] == [("基本信息", f"B{cell.row}")]
    assert read_ledger_id(read_workbook(master)) == new_id
    same, none = ensure_ledger_id(master, read_workbook(master))
    assert (same, none) == (new_id, None)


def test_ledger_id_plan_is_none_when_present_so_a_live_workbook_can_apply_it(master):
    ledger_id, plan = plan_ledger_id(read_workbook(master))
    assert plan is None and ledger_id == read_ledger_id(read_workbook(master))
    remove_ledger_id(master)
    new_id, plan = plan_ledger_id(read_workbook(master), "my-id")
    assert new_id == "my-id" and [c.value for c in plan.sheets[0].cells][:2] == [LEDGER_ID_LABEL, "my-id"]


# --------------------------------------------------------------------------------------
# Regression: editing 基本信息 after issue disowned every return


def test_editing_feedback_date_after_issue_keeps_returns_accepted(master, tmp_path):
    templates = issue(master, tmp_path / "下发")
    set_setting(master, "反馈日期", date(2024, 4, 9))  # a typo corrected after the templates went out
    set_setting(master, "单位简称", "公路中心")
    county_return(templates["连州市"], tmp_path / "收件")
    [f] = run(master, tmp_path / "收件", tmp_path).files
    assert f.accepted, f.issues


def test_return_from_a_ledger_of_another_unit_names_the_unit_not_the_round(master, tmp_path):
    other = new_master(tmp_path / "别的单位.xlsx", unit_name="清远市交通运输局")
    templates = issue(other, tmp_path / "别的下发")
    county_return(templates["连州市"], tmp_path / "收件")
    [f] = run(master, tmp_path / "收件", tmp_path).files
    assert [i.code for i in f.issues] == ["other-ledger"]
    diff = differing(f.issues[0].message)
    assert "单位名称（报送表为“清远市交通运输局”，本台账为“清远市公路事务中心”）" in diff
    assert "巡察轮次" not in diff and "台账编号" in diff


def test_return_from_a_ledger_of_another_round_names_the_round(master, tmp_path):
    other = new_master(tmp_path / "第五轮.xlsx", inspection_round="八届市委第五轮巡察")
    county_return(issue(other, tmp_path / "别的下发")["连州市"], tmp_path / "收件")
    [f] = run(master, tmp_path / "收件", tmp_path).files
    diff = differing(f.issues[0].message)
    assert "巡察轮次（报送表为“八届市委第五轮巡察”，本台账为“八届市委第四轮巡察”）" in diff
    assert "单位名称" not in diff


def test_return_from_another_ledger_file_with_the_same_settings_names_the_ledger_id(master, tmp_path):
    twin = new_master(tmp_path / "重新新建的台账.xlsx")
    county_return(issue(twin, tmp_path / "别的下发")["连州市"], tmp_path / "收件")
    [f] = run(master, tmp_path / "收件", tmp_path).files
    message = f.issues[0].message
    assert f.issues[0].code == "other-ledger"
    mine = read_ledger_id(read_workbook(master))
    theirs = read_ledger_id(read_workbook(twin))
    assert differing(message) == f"台账编号（报送表为 {theirs}，本台账为 {mine}）"
    assert "重新生成报送表" in message


def test_copy_of_the_ledger_keeps_its_id_and_accepts_the_returns(master, tmp_path):
    templates = issue(master, tmp_path / "下发")
    copy_ = tmp_path / "副本" / "台账.xlsx"
    copy_.parent.mkdir()
    shutil.copy2(master, copy_)
    county_return(templates["连州市"], tmp_path / "收件")
    [f] = run(copy_, tmp_path / "收件", tmp_path).files
    assert f.accepted


# --------------------------------------------------------------------------------------
# Returns issued before 台账编号 existed (the settings hash)


def _as_old_scheme(template: Path, legacy_id: str) -> None:
    """Rewrite a template's metadata as the previous version issued it: the settings hash as ledger id."""
    meta = read_template_meta(template)
    meta.ledger_id = legacy_id
    meta.inspection_round = ""
    meta.fingerprint = meta.compute_fingerprint()
    wb = openpyxl.load_workbook(template)
    ws = wb[META_SHEET]
    ws.delete_rows(1, ws.max_row)
    for row in meta.to_rows():
        ws.append(row)
    wb.save(template)


def test_old_scheme_return_accepted_while_unit_round_and_feedback_date_unchanged(master, tmp_path):
    templates = issue(master, tmp_path / "下发")
    ledger, _ = load_ledger(read_workbook(master))
    old = tmp_path / "旧版.xlsx"
    shutil.copy(templates["连州市"], old)
    _as_old_scheme(old, legacy_ledger_identity(ledger))
    assert "inspection_round" not in {r[0].value for r in openpyxl.load_workbook(old)[META_SHEET].iter_rows()}
    county_return(old, tmp_path / "收件")
    [f] = run(master, tmp_path / "收件", tmp_path).files
    assert f.accepted, f.issues
    set_setting(master, "反馈日期", date(2024, 4, 9))
    [f] = run(master, tmp_path / "收件", tmp_path).files
    assert [i.code for i in f.issues] == ["other-ledger"]
    assert differing(f.issues[0].message).startswith("巡察轮次或反馈日期（这是旧版报送表")


def test_ledger_without_id_accepts_returns_of_its_unit_and_round(master, tmp_path):
    """Templates made from a copy (e.g. the snapshot of an open workbook) leave no id in the ledger itself."""
    templates = issue(master, tmp_path / "下发")
    remove_ledger_id(master)
    county_return(templates["连州市"], tmp_path / "收件")
    [f] = run(master, tmp_path / "收件", tmp_path).files
    assert f.accepted, f.issues
    set_setting(master, "巡察轮次", "八届市委第五轮巡察")
    [f] = run(master, tmp_path / "收件", tmp_path).files
    diff = differing(f.issues[0].message)
    assert "本台账“基本信息”中没有台账编号" in diff and diff.startswith("巡察轮次（") and "单位名称" not in diff

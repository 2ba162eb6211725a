"""Parity: the same job through the ``zhenggai`` command and through the Excel button gives the same ledger.

Two copies of one ledger: copy A goes through the CLI (``CliRunner``), copy B through the
button function on xlwings' remote engine (as in test_macros). A is read back from the file
the command wrote; B is the original file plus the button's queued actions replayed onto its
cells. Byte-identical files are not possible by construction — a button writes into the open
workbook and Excel saves it — so the comparison is every cell value of every sheet, plus the
files each job writes beside the ledger.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_live import make_ledger, replay
from test_macros import alert_of, broken_ledger, press
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core.plan import Formula
from toolkit.core.schema import column_letter
from toolkit.excel.read import read_workbook

runner = CliRunner()




def cells_of(path: Path) -> dict[str, dict[tuple[int, str], Any]]:
    """Every non-empty cell of every sheet, as the file reader sees it."""
    out: dict[str, dict[tuple[int, str], Any]] = {}
    for name, table in read_workbook(path).items():
        sheet = out.setdefault(name, {})
        for i, row in enumerate(table.rows):
            for j, v in enumerate(row):
                if v is not None and v != "":
                    sheet[(table.first_row + i, column_letter(table.first_col + j))] = _norm(v)
    return out


def _norm(v: Any) -> Any:
    if isinstance(v, datetime) and v.time() == datetime.min.time():
        return v.date()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def after_button(original: Path, payload: dict, book: Any, formulas: dict) -> dict[str, dict[tuple[int, str], Any]]:
    """The original file's cells with the button's actions replayed on top (formulas as their cached values)."""
    cells = cells_of(original)
    state, _ = replay(payload, book.json()["actions"])
    for sheet, written in state.items():
        target = cells.setdefault(sheet, {})
        for key, cell in written.items():
            if "value" not in cell:
                continue
            value = cell["value"]
            if isinstance(value, tuple) and value[0] == "formula":
                value = formulas[(sheet, key)]
            if value is None or value == "":
                target.pop(key, None)
            else:
                target[key] = _norm(value)
    return {k: v for k, v in cells.items() if v or k in cells_of(original)}


def formula_cache(plan) -> dict:
    return {(sp.sheet, (c.row, c.column)): c.value.cached for sp in plan.sheets for c in sp.cells
            if isinstance(c.value, Formula)}


def two_copies(tmp_path: Path, original: Path) -> tuple[Path, Path]:
    a_dir, b_dir = tmp_path / "命令行 A", tmp_path / "按钮 B"
    a_dir.mkdir()
    b_dir.mkdir()
    return Path(shutil.copy2(original, a_dir / original.name)), Path(shutil.copy2(original, b_dir / original.name))


def strip_empty(cells: dict) -> dict:
    return {k: v for k, v in cells.items() if v}


@pytest.mark.parametrize("broken", [False, True], ids=["clean", "with-errors"])
@pytest.mark.parametrize(("command", "macro"), [(["check", "--write"], "check_ledger"), (["status"], "update_status")])
def test_check_and_status_leave_the_same_ledger(remote, tmp_path, broken, command, macro):
    from toolkit.jobs import check_file

    source = broken_ledger(tmp_path / "原件") if broken else make_ledger(tmp_path / "原件", "整改台账.xlsx")
    a, b = two_copies(tmp_path, source)
    plan = check_file(source).plan
    out = runner.invoke(app, [command[0], str(a), *command[1:]])
    assert out.exit_code == (1 if broken else 0), out.output
    payload, book = press(macro, b)
    text, _, mode = alert_of(book)
    assert mode == "info"
    from_cli = strip_empty(cells_of(a))
    from_button = strip_empty(after_button(b, payload, book, formula_cache(plan)))
    assert from_cli.keys() == from_button.keys()
    for sheet in from_cli:
        assert from_cli[sheet] == from_button[sheet], sheet
    if broken:  # the job wrote check results: the comparison is not vacuous
        assert from_cli != strip_empty(cells_of(source))
    else:  # nothing to change in the file; the button still wrote (the same values) into the open workbook
        assert from_cli == strip_empty(cells_of(source))
        assert any(a["func"] == "setValues" for a in book.json()["actions"])
    # The same verdict in both front ends.
    verdict = "台账中有错误" if broken else ("没有错误" if macro == "check_ledger" else "已更新。")
    assert verdict in text


def test_notice_same_document_from_both_front_ends(remote, tmp_path):
    from docx import Document

    source = make_ledger(tmp_path / "原件", "整改台账.xlsx")
    a, b = two_copies(tmp_path, source)
    assert runner.invoke(app, ["notice", str(a)]).exit_code == 0
    press("make_notice", b)
    name = "通报_2025-04-07.docx"
    doc_a, doc_b = Document(a.parent / name), Document(b.parent / name)
    paragraphs = [(p.style.name, p.text) for p in doc_a.paragraphs]
    assert len(paragraphs) > 20
    assert paragraphs == [(p.style.name, p.text) for p in doc_b.paragraphs]


def test_county_templates_same_files_from_both_front_ends(remote, tmp_path):
    source = make_ledger(tmp_path / "原件", "整改台账.xlsx")
    a, b = two_copies(tmp_path, source)
    assert runner.invoke(app, ["county-templates", str(a)]).exit_code == 0
    press("make_county_templates", b)
    folder = "县区报送表-下发"
    names_a = sorted(p.name for p in (a.parent / folder).iterdir())
    assert names_a and names_a == sorted(p.name for p in (b.parent / folder).iterdir())
    for name in names_a:
        wa = openpyxl.load_workbook(a.parent / folder / name)
        wb = openpyxl.load_workbook(b.parent / folder / name)
        ws_a, ws_b = wa.worksheets[0], wb.worksheets[0]
        assert [[c.value for c in r] for r in ws_a.iter_rows()] == [[c.value for c in r] for r in ws_b.iter_rows()]


def test_period_setting_is_honoured_by_both_front_ends(remote, tmp_path):
    """基本信息's 报送期次 is read by the jobs layer, whichever front end starts the job."""
    source = make_ledger(tmp_path / "原件", "整改台账.xlsx")
    wb = openpyxl.load_workbook(source)  # the test's own fixture file
    ws = wb["基本信息"]
    ws.append(["报送期次", "2025年2月", ""])
    wb.save(source)
    a, b = two_copies(tmp_path, source)
    assert runner.invoke(app, ["county-templates", str(a)]).exit_code == 0
    press("make_county_templates", b)
    for copy in (a, b):
        names = [p.name for p in (copy.parent / "县区报送表-下发").iterdir()]
        assert names and all(n.startswith("2025-02_") for n in names), names


def test_consolidate_same_ledger_from_both_front_ends(remote, tmp_path, monkeypatch):
    from test_macros import _returns

    from toolkit.jobs.settings import DEFAULT_INBOX

    source = make_ledger(tmp_path / "原件", "整改台账.xlsx")
    _returns(source, source.parent / DEFAULT_INBOX)
    a, b = two_copies(tmp_path, source)
    for copy in (a, b):
        shutil.copytree(source.parent / DEFAULT_INBOX, copy.parent / DEFAULT_INBOX)
    fixed = datetime(2025, 4, 7, 10, 0, 0)

    monkeypatch.setattr("toolkit.counties.consolidate.china_now", lambda: fixed)  # both runs stamp the same time
    out = runner.invoke(app, ["consolidate", str(a)])
    assert out.exit_code == 0, out.output
    payload, book = press("consolidate_counties", b)
    text, _, mode = alert_of(book)
    assert mode == "info", text
    from_cli = strip_empty(cells_of(a))
    from toolkit.counties.consolidate import consolidate_folder

    planned = consolidate_folder(source, source.parent / DEFAULT_INBOX, dry_run=True).plan
    from_button = strip_empty(after_button(b, payload, book, formula_cache(planned)))
    assert from_cli.keys() == from_button.keys()
    for sheet in from_cli:
        assert from_cli[sheet] == from_button[sheet], sheet
    assert from_cli["变更记录"]  # a change was imported and logged: the comparison is not vacuous


def test_notice_twice_keeps_the_first(tmp_path, demo_file):
    first = demo_file.with_name("通报_2025-04-07.docx")
    assert runner.invoke(app, ["notice", str(demo_file)]).exit_code == 0
    first.write_bytes(b"edited in Word")
    out = runner.invoke(app, ["notice", str(demo_file)])
    assert out.exit_code == 0, out.output
    assert first.read_bytes() == b"edited in Word"
    assert demo_file.with_name("通报_2025-04-07(2).docx").is_file()
    explicit = runner.invoke(app, ["notice", str(demo_file), "--out", str(first)])
    assert explicit.exit_code == 2 and "已存在" in explicit.output and first.read_bytes() == b"edited in Word"


def test_a_month_with_nothing_accepted_shows_this_months_states_in_both(remote, tmp_path, monkeypatch):
    """Regression: the CLI left last month's 已报送 in 县区 while the button wrote 未报送."""
    from toolkit.jobs.settings import DEFAULT_INBOX

    source = make_ledger(tmp_path / "原件", "整改台账.xlsx")
    a, b = two_copies(tmp_path, source)
    for copy in (a, b):
        (copy.parent / DEFAULT_INBOX).mkdir()
    monkeypatch.setattr("toolkit.counties.consolidate.china_now", lambda: datetime(2025, 4, 7, 10, 0))
    out = runner.invoke(app, ["consolidate", str(a)])
    assert out.exit_code == 0, out.output
    assert "没有报送文件" in out.output
    payload, book = press("consolidate_counties", b)
    text, _, _ = alert_of(book)
    assert "没有报送文件" in text
    from_cli = strip_empty(cells_of(a))
    from_button = strip_empty(after_button(b, payload, book, {}))
    assert from_cli["县区"] == from_button["县区"]
    states = [v for (r, col), v in from_cli["县区"].items() if r > 1 and v in ("未报送", "已报送", "逾期报送", "无需报送")]
    assert states and "已报送" not in states
    assert "2025年3月" in from_cli["县区"].values()  # the period its states belong to


def test_county_templates_give_a_ledger_without_id_its_id_in_both_front_ends(remote, tmp_path):
    from toolkit.counties.identity import read_ledger_id

    source = make_ledger(tmp_path / "原件", "整改台账.xlsx")
    wb = openpyxl.load_workbook(source)  # the test's own fixture: an older ledger without 台账编号
    ws = wb["基本信息"]
    for row in ws.iter_rows():
        if row[0].value == "台账编号":
            ws.delete_rows(row[0].row)
            break
    wb.save(source)
    assert read_ledger_id(read_workbook(source)) == ""
    a, b = two_copies(tmp_path, source)
    out = runner.invoke(app, ["county-templates", str(a)])
    assert out.exit_code == 0, out.output
    assert read_ledger_id(read_workbook(a)) != ""  # written into the file (lossless patch, backup)
    payload, book = press("make_county_templates", b)
    state, _ = replay(payload, book.json()["actions"])
    written = {v.get("value") for v in state["基本信息"].values()}
    assert "台账编号" in written  # written into the open workbook, not a throwaway copy
    assert "台账编号" in alert_of(book)[0]


def test_inbox_setting_is_honoured_by_the_command(tmp_path):
    """基本信息's 县区报送文件夹 is the inbox for `zhenggai consolidate LEDGER` as for the button."""
    from test_macros import _returns

    source = make_ledger(tmp_path / "原件", "整改台账.xlsx")
    _returns(source, source.parent / "各县交回 文件")
    wb = openpyxl.load_workbook(source)  # the test's own fixture file
    wb["基本信息"].append(["县区报送文件夹", "各县交回 文件", ""])
    wb.save(source)
    out = runner.invoke(app, ["consolidate", str(source), "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "收到 7 份文件，导入 7 份" in out.output


def test_board_same_page_from_both_front_ends(remote, tmp_path):
    source = make_ledger(tmp_path / "原件", "整改台账.xlsx")
    a, b = two_copies(tmp_path, source)
    assert runner.invoke(app, ["board", str(a)]).exit_code == 0
    _, book = press("make_board", b)
    assert alert_of(book)[2] == "info"
    name = "督办看板_2025-04-07.html"
    page_a, page_b = (a.parent / name).read_bytes(), (b.parent / name).read_bytes()
    assert len(page_a) > 10_000
    assert page_a == page_b  # the same bytes: the page names no folder and no clock

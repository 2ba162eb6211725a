"""The buttons' Python side (toolkit.macros), run as Excel runs it: no arguments, the caller's workbook.

Each test saves a ledger into a folder whose name has Chinese characters and spaces, turns the
file into the JSON an xlwings client sends (``xlwings_remote.workbook_payload``), opens it on xlwings'
``remote`` engine and makes it the caller (``Book.set_mock_caller``). The macro then runs its
real code path — ``xw.Book.caller()``, bulk read, core, bulk write, ``app.alert`` — and its
effects are the engine's queued actions, replayed onto cells by ``test_live.replay`` and
compared with what the command line computes from the saved file.
What stays manual (needs Excel on Windows): the click itself, RunPython finding Python, COM
writes, the message box; see docs/staff-setup.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlwings_remote
from conftest import tables_from_rows
from test_live import assert_cells_match_plan, make_ledger, open_book, replay, written_cells

from toolkit import jobs as api
from toolkit import macros
from toolkit.core.plan import check_only_plan
from toolkit.demo.ledger import DEMO_AS_OF
from toolkit.excel import live
from toolkit.excel.read import read_workbook
from toolkit.excel.vba.project import MACROS
from toolkit.jobs.paths import unique_path
from toolkit.jobs.result import JobResult
from toolkit.jobs.settings import COUNTY_TEMPLATE_DIR, DEFAULT_INBOX, INBOX_SETTING, resolve_inbox
from toolkit.jobs.summary import figures_lines, summary_lines

ROOT = Path(__file__).resolve().parents[1]




@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "市公路中心 整改台账（2025）"


@pytest.fixture
def ledger(folder) -> Path:
    return make_ledger(folder, "整改台账 2025.xlsx")


def broken_ledger(folder: Path) -> Path:
    """The demo ledger with faults staff make: an Excel error value, a blank measure, a duplicate task id."""
    path = make_ledger(folder, "整改台账 有错.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["任务清单"]
    ws["K5"] = "#REF!"  # openpyxl stores it as an error value, as Excel would after a broken formula
    ws["C6"] = None
    ws["A8"] = ws["A7"].value
    wb.save(path)
    return path


def press(macro: str, path: Path, payload: dict | None = None):
    """Open ``path`` as the calling workbook and run one button function; return (payload, book)."""
    payload = payload or xlwings_remote.workbook_payload(path)
    book = open_book(payload)
    book.set_mock_caller()
    getattr(macros, macro)()
    return payload, book


def alert_of(book) -> tuple[str, str, str]:
    """(text, title, mode) of the message box the run ended with; it must be the last and only alert."""
    actions = book.json()["actions"]
    alerts = [a for a in actions if a["func"] == "alert"]
    assert len(alerts) == 1 and actions[-1] is alerts[0]
    text, title, _buttons, mode, _callback = alerts[0]["args"]
    return text, title, mode


# ----------------------------------------------------------------------------- module


def test_every_button_has_its_function():
    for button in MACROS:
        assert callable(getattr(macros, button.function)), button.function


def test_import_is_light():
    """Nothing heavy at import: the button's start-up pays only for what it uses."""
    code = (
        "import sys, json, toolkit.macros; "
        "print(json.dumps([m for m in ('xlwings', 'pandas', 'numpy', 'openpyxl', 'docxtpl', 'toolkit.jobs.ledger') "
        "if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# ----------------------------------------------------------------------------- same inputs, same results


@pytest.mark.parametrize("broken", [False, True], ids=["demo", "with-errors"])
def test_button_and_command_line_compute_the_same_plan(remote, folder, broken):
    path = broken_ledger(folder) if broken else make_ledger(folder, "整改台账 2025.xlsx")
    book = open_book(xlwings_remote.workbook_payload(path))
    from_button = api.check_tables(live.read_book(book), source=Path(book.name).name)
    from_file = api.check_file(path)
    assert from_button.plan.as_grid() == from_file.plan.as_grid()
    assert from_button.report.flatten(["code", "sheet", "row", "column"]) == from_file.report.flatten(
        ["code", "sheet", "row", "column"]
    )
    if broken:
        codes = {i.code for i in from_file.report.issues}
        assert "excel-error" in codes and len(from_file.report.errors) >= 3


# ----------------------------------------------------------------------------- 更新状态


def test_update_status_writes_what_zhenggai_status_writes(remote, ledger):
    payload, book = press("update_status", ledger)
    state, _ = replay(payload, book.json()["actions"])
    plan = api.check_file(ledger).plan
    assert_cells_match_plan(state, plan)
    planned = {sp.sheet: {(c.row, c.column) for c in sp.cells} for sp in plan.sheets}
    for sheet, cells in written_cells(state).items():
        assert cells <= planned.get(sheet, set()), sheet  # nothing outside the plan gets a value
    text, title, mode = alert_of(book)
    assert (title, mode) == ("整改台账 · 更新状态", "info")
    assert "整改措施 50 项" in text and "请检查后保存台账" in text


def test_update_status_on_the_macro_workbook(remote, folder):
    """The .xlsm with the 操作 and xlwings.conf sheets: the extra sheets change nothing."""
    path = make_ledger(folder, "整改台账 按钮.xlsm")
    payload, book = press("update_status", path)
    assert {"操作", "xlwings.conf"} <= {s["name"] for s in payload["sheets"]}
    state, _ = replay(payload, book.json()["actions"])
    assert_cells_match_plan(state, api.check_file(path).plan)
    assert not written_cells(state)["操作"] and not written_cells(state)["xlwings.conf"]
    assert alert_of(book)[2] == "info"


def test_update_status_does_not_touch_the_saved_file(remote, ledger):
    before = ledger.read_bytes()
    press("update_status", ledger)
    assert ledger.read_bytes() == before  # the button writes into the open workbook only


# ----------------------------------------------------------------------------- 校验台账


def test_check_ledger_writes_only_the_check_results(remote, folder):
    path = broken_ledger(folder)
    payload, book = press("check_ledger", path)
    result = api.check_file(path)
    expected = check_only_plan(result.plan, result.ledger)
    state, _ = replay(payload, book.json()["actions"])
    assert_cells_match_plan(state, expected)
    assert {sp.sheet for sp in expected.sheets} == {"校验结果", "任务清单", "问题清单"}
    assert [c.column for sp in expected.sheets if sp.sheet == "任务清单" for c in sp.cells] == ["S"] * 51
    touched = written_cells(state)
    assert all(letter == "S" for _, letter in touched["任务清单"])  # no status columns
    assert "统计" not in {name for name, cells in touched.items() if cells}
    text, _, mode = alert_of(book)
    assert mode == "info"
    n_err = len(result.report.errors)
    assert f"错误 {n_err} 条" in text
    assert "任务清单!K5" in text and "Excel 错误值 #REF!" in text
    assert [a for a in book.json()["actions"] if a["func"] == "activateSheet"]  # shows 校验结果


def test_check_ledger_on_a_clean_ledger_says_so(remote, ledger):
    _, book = press("check_ledger", ledger)
    text, _, mode = alert_of(book)
    lines = text.split("\n")
    assert mode == "info" and lines[0] == f"√ 校验完成（统计日期 {DEMO_AS_OF.isoformat()}）：未发现问题。"
    assert lines[-1] == "校验完成：台账中没有错误。"


def test_check_reads_the_open_workbook_not_the_saved_file(remote, ledger):
    """Staff may click before saving: the button sees the open workbook's values."""
    payload = xlwings_remote.workbook_payload(ledger)
    tasks = next(s for s in payload["sheets"] if s["name"] == "任务清单")
    tasks["values"][2][2] = ""  # C3 (整改措施) emptied in Excel, not saved
    _, book = press("check_ledger", ledger, payload)
    text, _, _ = alert_of(book)
    assert "任务清单!C3" in text
    assert api.check_file(ledger).valid  # the saved file is still clean


def test_missing_sheet_is_reported_not_raised(remote, ledger):
    payload = xlwings_remote.workbook_payload(ledger)
    payload["sheets"] = [s for s in payload["sheets"] if s["name"] != "问题清单"]
    _, book = press("check_ledger", ledger, payload)
    text, _, mode = alert_of(book)
    assert mode == "info" and "问题清单" in text and "错误" in text


# ----------------------------------------------------------------------------- error paths


def test_an_unexpected_exception_becomes_a_chinese_message_and_a_log(remote, ledger, monkeypatch, tmp_path):
    from toolkit.jobs import crashlog

    logs = tmp_path / "logs"
    monkeypatch.setenv("ZHENGGAI_LOG_DIR", str(logs))

    def broken(*args, **kwargs):  # fault injection: an internal error in the core
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("toolkit.jobs.sources.check_tables", broken)
    _, book = press("update_status", ledger)  # returns normally: no traceback reaches Excel
    text, title, mode = alert_of(book)
    assert mode == "critical" and title == "整改台账 · 更新状态"
    assert text.startswith("更新状态时出现程序内部错误（ZeroDivisionError")
    log = logs / crashlog.LOG_NAME
    assert str(log) in text
    assert "Traceback" in log.read_text(encoding="utf-8")


def test_a_toolkit_error_reaches_staff_as_its_message(remote, folder):
    """The counties module refuses a ledger without county tasks; its Chinese message is what staff see."""
    from toolkit.demo.ledger import build_demo_ledger

    model = build_demo_ledger()
    for task in model.tasks:
        task.unit = "办公室"
    path = make_ledger(folder, "无县区任务.xlsx", model)
    _, book = press("make_county_templates", path)
    text, _, mode = alert_of(book)
    assert mode == "critical"
    assert text.startswith("生成县区报送表未完成：台账中没有责任单位为县区的未销号任务")
    assert [a["func"] for a in book.json()["actions"]] == ["alert"]


def test_unsaved_workbook_cannot_make_files(remote, ledger):
    payload = xlwings_remote.workbook_payload(ledger)
    payload["book"]["name"] = "工作簿1"  # what Excel calls a workbook that was never saved
    _, book = press("make_notice", ledger, payload)
    text, _, mode = alert_of(book)
    assert mode == "critical" and "请先“文件 → 另存为”保存台账" in text


def test_without_excel_there_is_no_caller(remote):
    """Run outside Excel (no RunPython, no mock): a Chinese message on stderr via SystemExit."""
    with pytest.raises(SystemExit, match="无法连接到调用按钮的 Excel 工作簿"):
        macros.check_ledger()


# ----------------------------------------------------------------------------- 生成通报


def test_make_notice_renders_from_the_open_workbook(remote, ledger):
    from docx import Document

    payload = xlwings_remote.workbook_payload(ledger)
    settings = next(s for s in payload["sheets"] if s["name"] == "基本信息")
    row = next(r for r in settings["values"] if str(r[0]).startswith("单位简称"))
    row[1] = "市公路中心（未保存的修改）"
    _, book = press("make_notice", ledger, payload)
    text, _, mode = alert_of(book)
    out = ledger.with_name(f"通报_{DEMO_AS_OF.isoformat()}.docx")
    assert mode == "info" and str(out) in text
    body = "\n".join(p.text for p in Document(out).paragraphs)
    assert "市公路中心（未保存的修改）" in body


def test_make_notice_never_overwrites_an_earlier_notice(remote, ledger):
    press("make_notice", ledger)
    first = ledger.with_name(f"通报_{DEMO_AS_OF.isoformat()}.docx")
    first.write_bytes(b"edited by staff")
    _, book = press("make_notice", ledger)
    second = first.with_name(f"{first.stem}(2).docx")
    assert first.read_bytes() == b"edited by staff" and second.is_file()
    assert str(second) in alert_of(book)[0]


def test_make_notice_with_errors_says_so(remote, folder):
    path = broken_ledger(folder)
    _, book = press("make_notice", path)
    text, _, mode = alert_of(book)
    assert mode == "info" and "台账有" in text and "处错误" in text


# ----------------------------------------------------------------------------- 县区报送


def test_make_county_templates_beside_the_ledger(remote, ledger):
    _, book = press("make_county_templates", ledger)
    text, _, mode = alert_of(book)
    out = ledger.parent / COUNTY_TEMPLATE_DIR
    made = sorted(p.name for p in out.iterdir())
    counties = ["清城区", "清新区", "英德市", "连州市", "佛冈县", "阳山县", "连南瑶族自治县"]  # the demo's counties with tasks
    assert made == sorted(f"2025-03_{c}_整改进展报送表.xlsx" for c in counties)
    assert mode == "info" and "已生成 7 份县区报送表" in text and "报送期：2025年3月" in text


def _returns(ledger: Path, inbox: Path) -> Path:
    """County templates as issued, copied into the inbox; one county reports a task done."""
    from toolkit.counties.template import make_county_templates

    inbox.mkdir()
    for path in make_county_templates(ledger, out_dir=ledger.parent / "下发", today=DEMO_AS_OF):
        shutil.copy(path, inbox / path.name)
    first = sorted(inbox.iterdir())[0]
    wb = openpyxl.load_workbook(first)
    ws = wb["整改进展报送"]
    ws["F9"], ws["G9"], ws["J9"], ws["K9"] = "已完成", date(2025, 3, 18), "王五", "0763-1234567"
    wb.save(first)
    return first


def test_consolidate_counties_applies_the_consolidation_plan(remote, ledger):
    from toolkit.counties.consolidate import REPORT_DIR_NAME, consolidate_folder

    inbox = ledger.parent / DEFAULT_INBOX
    _returns(ledger, inbox)
    before = ledger.read_bytes()
    payload, book = press("consolidate_counties", ledger)
    text, _, mode = alert_of(book)
    assert mode == "info", text
    reports = list((ledger.parent / REPORT_DIR_NAME).iterdir())
    assert len(reports) == 1 and str(reports[0]) in text
    assert read_workbook(reports[0])  # a readable workbook
    # The run's time stamp (变更记录, report name) is in the report's name: replay the command with it.
    stamp = datetime.strptime(reports[0].stem.rsplit("_", 1)[1], "%Y%m%d-%H%M%S")
    expected = consolidate_folder(ledger, inbox, dry_run=True, today=DEMO_AS_OF, now=stamp)
    assert expected.changes  # the edited return changes the ledger
    state, _ = replay(payload, book.json()["actions"])
    assert_cells_match_plan(state, expected.plan)
    assert f"导入 {len(expected.changes)} 处填报内容" in text
    assert ledger.read_bytes() == before  # written into the open workbook, not the file


def test_consolidate_counties_reads_the_inbox_setting(remote, ledger):
    inbox = ledger.parent / "各县交回 文件"
    _returns(ledger, inbox)
    payload = xlwings_remote.workbook_payload(ledger)
    settings = next(s for s in payload["sheets"] if s["name"] == "基本信息")
    width = len(settings["values"][0])
    settings["values"].append([INBOX_SETTING, "各县交回 文件"] + [""] * (width - 2))
    settings["used_range_address"] = f"A1:C{len(settings['values'])}"
    _, book = press("consolidate_counties", ledger, payload)
    text, _, mode = alert_of(book)
    assert mode == "info" and "2025年3月县区报送：收到" in text


def test_consolidate_counties_without_inbox_explains_what_to_do(remote, ledger):
    _, book = press("consolidate_counties", ledger)
    text, _, mode = alert_of(book)
    assert mode == "critical"
    assert f"找不到县区报送文件夹：{ledger.parent / DEFAULT_INBOX}" in text
    assert f"左格写“{INBOX_SETTING}”" in text


# ----------------------------------------------------------------------------- pure helpers


def test_inbox_folder_setting_is_relative_to_the_ledger(tmp_path):
    def tables(value):
        return tables_from_rows({"基本信息": [["项目", "内容"], [INBOX_SETTING, value]]})

    assert resolve_inbox(None, tables(""), tmp_path) == tmp_path / DEFAULT_INBOX
    assert resolve_inbox(None, tables("交回"), tmp_path) == tmp_path / "交回"
    assert resolve_inbox(None, tables(f'"{tmp_path / "x y"}"'), Path("/elsewhere")) == tmp_path / "x y"
    assert resolve_inbox(tmp_path / "命令行", tables("交回"), tmp_path) == tmp_path / "命令行"


def test_unique_path_counts_up(tmp_path):
    target = tmp_path / "通报_2025-04-07.docx"
    assert unique_path(target) == target
    target.write_bytes(b"")
    (tmp_path / "通报_2025-04-07(2).docx").write_bytes(b"")
    assert unique_path(target) == tmp_path / "通报_2025-04-07(3).docx"


def test_status_summary_figures_match_the_stats(demo_file):
    result = api.check_file(demo_file)
    c = result.status.stats.overall
    text = "\n".join(figures_lines(JobResult("status", "更新状态", check=result, today=result.today)))
    assert f"整改措施 {c.total} 项：已完成 {c.done} 项" in text
    assert f"其中临期 {c.due_soon} 项、逾期 {c.overdue} 项" in text


def test_check_summary_lists_at_most_eight_issues(tmp_path):
    path = broken_ledger(tmp_path / "x")
    wb = openpyxl.load_workbook(path)
    ws = wb["任务清单"]
    for r in range(10, 30):
        ws[f"C{r}"] = None
    wb.save(path)
    result = api.check_file(path)
    lines = summary_lines(JobResult("check", "校验台账", check=result, today=result.today), issues=macros.MAX_LISTED_ISSUES)
    assert len(result.report.issues) > macros.MAX_LISTED_ISSUES
    assert len(lines) == 2 + macros.MAX_LISTED_ISSUES and lines[-1].startswith("……另有")


def test_every_button_of_the_demo_xlsm_calls_an_existing_macro_function():
    """The shipped demo .xlsm: each button's VBA calls a function that toolkit.macros really has."""
    import re as _re

    import toolkit.macros as macros_module
    from toolkit.excel.vba.project import MACROS, extract_macros

    demo = Path(__file__).resolve().parents[1] / "workbooks" / "示例台账.xlsm"
    sources = "\n".join(extract_macros(demo).values())
    for button in MACROS:
        call = _re.search(rf'Sub {button.macro}\(\)\s*\n\s*If Not ToolkitReady\(\) Then Exit Sub\s*\n'
                          rf'\s*RunPython "import toolkit\.macros as m; m\.(\w+)\(\)"', sources)
        assert call is not None, button.macro
        assert callable(getattr(macros_module, call.group(1), None)), call.group(1)

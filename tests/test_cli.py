"""The zhenggai command through typer's CliRunner, on real workbook files."""

import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from toolkit.cli import app

runner = CliRunner()


def test_check_demo_exit_0_and_chinese_summary(demo_file):
    result = runner.invoke(app, ["check", str(demo_file)])
    assert result.exit_code == 0, result.output
    assert "校验通过" in result.output


def test_check_json_shape(demo_file):
    result = runner.invoke(app, ["check", str(demo_file), "--json"])
    payload = json.loads(result.stdout)
    assert set(payload) >= {"issues", "tasks", "problems", "stats"}
    task = next(t for t in payload["tasks"] if t["id"] == "7-1")
    assert task == {"id": "7-1", "problem": "7", "unit": "佛冈县", "deadline": "2025-03-20", "status": "逾期",
                    "status_code": "overdue", "days_overdue": 18, "row": 23}
    assert payload["stats"]["overall"]["total"] == 50
    assert {p["id"] for p in payload["problems"]} == {str(n) for n in range(1, 17)}


def test_check_today_option_changes_statuses(demo_file):
    payload = json.loads(runner.invoke(app, ["check", str(demo_file), "--json", "--today", "2025-12-31"]).stdout)
    assert payload["today"] == "2025-12-31"
    assert payload["stats"]["overall"]["overdue"] > 2


def _break(path: Path) -> None:
    # openpyxl may write a test's own file: this is a fixture, not a staff workbook.
    wb = openpyxl.load_workbook(path)
    ws = wb["任务清单"]
    ws["J3"] = "已完"
    ws["H4"] = "2024-02-30"
    wb.save(path)


def test_check_errors_exit_1_with_locations(demo_file):
    _break(demo_file)
    result = runner.invoke(app, ["check", str(demo_file), "--json"])
    assert result.exit_code == 1
    issues = json.loads(result.stdout)["issues"]
    located = {(i["sheet"], i["row"], i["column"], i["code"]) for i in issues}
    assert ("任务清单", 3, "J", "unknown-state") in located
    assert ("任务清单", 4, "H", "bad-date") in located


def test_unreadable_input_exit_2_without_traceback(tmp_path):
    fake = tmp_path / "台账.xlsx"
    fake.write_bytes(b"%PDF-1.4 not a workbook")
    result = runner.invoke(app, ["check", str(fake)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "PDF" in result.output


def test_missing_file_and_bad_today_are_usage_errors(tmp_path, demo_file):
    assert runner.invoke(app, ["check", str(tmp_path / "无.xlsx")]).exit_code == 2
    bad = runner.invoke(app, ["check", str(demo_file), "--today", "明天"])
    assert bad.exit_code == 2 and "--today" in bad.output


def test_unknown_command_is_usage_error():
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2


def test_init_refuses_to_overwrite(tmp_path):
    path = tmp_path / "新台账.xlsx"
    assert runner.invoke(app, ["init", str(path)]).exit_code == 0
    before = path.read_bytes()
    again = runner.invoke(app, ["init", str(path)])
    assert again.exit_code == 2 and "已存在" in again.output
    assert path.read_bytes() == before


def test_empty_ledger_from_init_reads_back(tmp_path):
    path = tmp_path / "空台账.xlsx"
    runner.invoke(app, ["init", str(path)])
    payload = json.loads(runner.invoke(app, ["check", str(path), "--json"]).stdout)
    codes = {i["code"] for i in payload["issues"]}
    assert codes == {"setting-missing"}  # only the settings staff must fill in
    assert payload["tasks"] == []


def test_ledger_with_a_cell_at_the_far_corner_is_refused_not_crashed(tmp_path):
    """A stray cell at XFD1048576 makes the reader abort the process; the pre-check refuses it first."""
    import zipfile

    path = tmp_path / "台账.xlsx"
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook {ns} {rel}><sheets><sheet name="任务清单" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", f'<?xml version="1.0"?><worksheet {ns}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>任务编号</t></is></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "单元格" in result.output

"""The demo ledger: built from the reference notice, shipped in workbooks/, and run by `zhenggai demo`."""

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.demo.ledger import DEMO_AS_OF, build_demo_ledger, parse_reference_notice
from toolkit.jobs.ledger import check_file

WORKBOOKS = Path(__file__).resolve().parents[1] / "workbooks"


def _records(items):
    out = []
    for item in items:
        d = dataclasses.asdict(item)
        d.pop("row", None)
        d.pop("state_text", None)
        out.append(d)
    return out


@pytest.mark.parametrize("name", ["示例台账.xlsx", "示例台账.xlsm"])
def test_shipped_demo_workbook_holds_the_demo_ledger(name):
    """workbooks/ is not stale: it reads back as exactly what the demo code builds."""
    result = check_file(WORKBOOKS / name)
    expected = build_demo_ledger()
    assert result.report.errors == []
    assert result.today == DEMO_AS_OF
    for t in expected.tasks + result.ledger.tasks:
        t.deadline = None if t.deadline is None else (t.deadline.on, t.deadline.is_long_term)
    assert _records(result.ledger.tasks) == _records(expected.tasks)
    assert _records(result.ledger.problems) == _records(expected.problems)
    assert _records(result.ledger.notice_text) == _records(expected.notice_text)
    got = dataclasses.asdict(result.ledger.settings)
    want = dataclasses.asdict(expected.settings)
    got.pop("cells"), want.pop("cells")
    assert got == want


def test_demo_covers_every_status_and_the_reference_structure():
    parsed = parse_reference_notice()
    assert (len(parsed["categories"]), len(parsed["problems"]), len(parsed["measures"])) == (4, 16, 50)
    result = check_file(WORKBOOKS / "示例台账.xlsx")
    assert {s.label for s in result.status.tasks.values()} == {
        "按期推进", "临期", "逾期", "按期完成", "逾期完成", "已销号", "长期坚持"}
    units = {t.unit for t in result.ledger.tasks}
    assert len(units & result.ledger.county_names()) >= 5


def test_demo_command_runs_the_monthly_cycle(tmp_path):
    folder = tmp_path / "演示 输出"
    result = CliRunner().invoke(app, ["demo", str(folder)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in folder.iterdir()}
    assert {"示例台账.xlsx", "通报_2025-04-07.docx", "县区报送表-下发", "县区报送表-收回", "县区报送汇总",
            "提醒函", "台账备份"} <= names
    assert len(list((folder / "县区报送表-下发").glob("*.xlsx"))) == 7  # counties with tasks
    ledger = check_file(folder / "示例台账.xlsx")
    assert ledger.report.errors == []
    # The accepted county returns reached the ledger (连州市 completed its open task).
    assert {t.state for t in ledger.ledger.tasks if t.unit == "连州市"} == {"已完成"}

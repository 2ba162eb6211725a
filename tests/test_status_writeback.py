"""`zhenggai status` end to end on real files: owned cells written, staff cells untouched, idempotent."""

import html
import json
import zipfile
from datetime import date

import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from toolkit.cli import app

runner = CliRunner()


def _sheet(path, name):
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def _members(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def test_status_writes_owned_cells_only_and_second_run_changes_nothing(demo_file):
    before_tasks = _sheet(demo_file, "任务清单")
    before = _members(demo_file)
    result = runner.invoke(app, ["status", str(demo_file), "--today", "2025-06-30", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    write = payload["write"]
    assert write["written"] and not write["dry_run"] and write["backup"]
    assert all(set(c) == {"sheet", "cell", "old", "new"} for c in write["changes"])
    assert {"sheet": "任务清单", "cell": "P9", "old": "临期", "new": "逾期"} in write["changes"]  # task 3-1
    after_tasks = _sheet(demo_file, "任务清单")
    header = after_tasks[1]
    owned = [j for j, h in enumerate(header) if str(h).startswith("【自动】")]
    assert [header[j] for j in owned] == ["【自动】状态", "【自动】逾期天数", "【自动】距到期", "【自动】校验"]
    for r_before, r_after in zip(before_tasks, after_tasks):
        assert [v for j, v in enumerate(r_before) if j not in owned] == \
               [v for j, v in enumerate(r_after) if j not in owned]
    row = next(r for r in after_tasks if r[0] == "2-1")  # deadline 2025-06-30: due today
    assert row[owned[0]] == "临期" and row[owned[2]] == "今天到期"
    row = next(r for r in after_tasks if r[0] == "2-3")  # 2025-03-31 → 91 days overdue
    assert (row[owned[0]], row[owned[1]]) == ("逾期", 91)
    after = _members(demo_file)
    changed = {n for n in before if after.get(n) != before[n]}
    # 问题清单, 任务清单, 校验结果, 统计 and the shared parts: nothing else is rewritten.
    assert changed <= {"xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml", "xl/worksheets/sheet7.xml",
                       "xl/worksheets/sheet8.xml", "xl/sharedStrings.xml", "xl/styles.xml"}, changed
    assert (demo_file.parent / "台账备份").is_dir()
    # Second run with the same inputs: nothing changes, the file is not rewritten.
    stamp, data = demo_file.stat().st_mtime_ns, demo_file.read_bytes()
    again = runner.invoke(app, ["status", str(demo_file), "--today", "2025-06-30"])
    assert again.exit_code == 0
    assert "无需写入" in again.output
    assert demo_file.read_bytes() == data and demo_file.stat().st_mtime_ns == stamp


def test_status_dry_run_writes_nothing(demo_file):
    data = demo_file.read_bytes()
    result = runner.invoke(app, ["status", str(demo_file), "--today", "2025-06-30", "--dry-run"])
    assert result.exit_code == 0
    assert "试运行" in result.output and "→" in result.output
    assert demo_file.read_bytes() == data
    assert not (demo_file.parent / "台账备份").exists()


def test_status_refuses_while_open_in_excel(demo_file):
    owner = demo_file.parent / ("~$" + demo_file.name)
    name = "张三".encode("utf-16-le")
    owner.write_bytes(bytes([2]) + b"\x00" + name + b"\x00" * (54 - len(name)))
    data = demo_file.read_bytes()
    result = runner.invoke(app, ["status", str(demo_file), "--today", "2025-06-30"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert demo_file.read_bytes() == data


def test_check_results_sheet_links_to_the_cell(demo_file):
    import openpyxl

    wb = openpyxl.load_workbook(demo_file)
    wb["任务清单"]["J5"] = "已完"
    wb.save(demo_file)  # test fixture edit, not a staff workbook
    result = runner.invoke(app, ["status", str(demo_file), "--today", "2025-04-07"])
    assert result.exit_code == 1
    rows = _sheet(demo_file, "校验结果")
    assert rows[0][0].startswith("校验结果（截至2025-04-07）：错误1条")
    hit = next(r for r in rows[2:] if r[6] == "unknown-state")
    assert (hit[2], hit[3]) == ("任务清单", "J5")
    with zipfile.ZipFile(demo_file) as z:
        names = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        xml = html.unescape(b"".join(z.read(n) for n in names).decode("utf-8"))
    assert """<f>HYPERLINK("#'任务清单'!J5","J5")</f>""" in xml
    tasks = _sheet(demo_file, "任务清单")
    row = next(r for r in tasks if r[0] == "1-3")
    assert "完成情况“已完”无法识别" in row[-1]


def test_changes_listed_from_the_read_tables_equal_a_fresh_read(demo_file):
    from toolkit.core.check import check_tables
    from toolkit.excel.ledger_file import read_ledger_tables
    from toolkit.excel.safe_write import compute_changes

    tables = read_ledger_tables(demo_file)
    plan = check_tables(tables, today=date(2025, 9, 30), source=demo_file.name).plan
    fresh = compute_changes(demo_file, plan)
    assert fresh  # the date moved: statuses change
    assert compute_changes(demo_file, plan, tables=tables) == fresh


def test_plan_from_an_older_read_is_refused(demo_file):
    import os

    from toolkit.core.check import check_tables
    from toolkit.excel.ledger_file import read_ledger_tables
    from toolkit.excel.safe_write import WorkbookLocked, write_safely

    stat = demo_file.stat()
    tables = read_ledger_tables(demo_file)
    plan = check_tables(tables, today=date(2025, 9, 30), source=demo_file.name).plan
    os.utime(demo_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # "saved" meanwhile
    data = demo_file.read_bytes()
    with pytest.raises(WorkbookLocked, match="被修改"):
        write_safely(demo_file, plan, read_as=((stat.st_size, stat.st_mtime_ns), tables))
    assert demo_file.read_bytes() == data


@pytest.mark.parametrize("name, word", [("any_sheets.ods", "OpenDocument"), ("any_sheets.xls", ".xls")])
def test_status_on_a_format_it_cannot_write_says_how_to_convert(tmp_path, name, word):
    from conftest import CORPUS, require

    src = CORPUS / name
    require("shared")
    path = tmp_path / name
    path.write_bytes(src.read_bytes())
    result = runner.invoke(app, ["status", str(path)])
    assert result.exit_code == 2
    assert word in result.output and "另存为" in result.output
    assert path.read_bytes() == src.read_bytes()


def test_first_status_on_a_fresh_ledger_reports_the_style_rewrite_truthfully(tmp_path):
    """Regression: the first run restyled cells (file replaced, backup taken) but said "无需写入"."""
    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.jobs import new_ledger_workbook, update_status_file

    path = tmp_path / "台账.xlsx"
    new_ledger_workbook(path, build_demo_ledger(), today=date(2025, 6, 30))  # same day: no status moves
    before = path.read_bytes()
    _, result = update_status_file(path, today=date(2025, 6, 30))
    if path.read_bytes() != before:
        assert result.written and result.changes and result.backup is not None
        assert result.value_changes + result.style_changes == len([c for c in result.changes if c.cell])
        for change in result.changes:
            if change.kind == "style":
                assert change.old == change.new
                assert "样式" in change.describe()
    else:
        assert not result.written and result.changes == () and result.backup is None
    # Second run: bytes identical, nothing listed, nothing written.
    data, stamp = path.read_bytes(), path.stat().st_mtime_ns
    _, again = update_status_file(path, today=date(2025, 6, 30))
    assert path.read_bytes() == data and path.stat().st_mtime_ns == stamp
    assert not again.written and again.changes == () and (again.value_changes, again.style_changes) == (0, 0)


def test_status_command_never_says_unchanged_when_the_file_was_rewritten(tmp_path):
    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.jobs import new_ledger_workbook

    path = tmp_path / "台账.xlsx"
    new_ledger_workbook(path, build_demo_ledger(), today=date(2025, 6, 30))  # same day: no status moves
    before = path.read_bytes()
    result = runner.invoke(app, ["status", str(path), "--today", "2025-06-30"])
    assert result.exit_code in (0, 1), result.output
    if path.read_bytes() != before:
        assert "无需写入" not in result.output and "已写回台账" in result.output
    again = runner.invoke(app, ["status", str(path), "--today", "2025-06-30"])
    assert "无需写入" in again.output


def test_dry_run_lists_the_same_changes_as_the_write_style_ones_included(tmp_path):
    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.jobs import new_ledger_workbook, update_status_file

    path = tmp_path / "台账.xlsx"
    new_ledger_workbook(path, build_demo_ledger())
    _, dry = update_status_file(path, today=date(2025, 6, 30), dry_run=True)
    _, real = update_status_file(path, today=date(2025, 6, 30))
    assert dry.dry_run and not dry.written
    assert dry.changes == real.changes
    assert (dry.value_changes, dry.style_changes) == (real.value_changes, real.style_changes)


def test_read_only_ledger_is_refused_before_any_work(tmp_path):
    """Regression: a read-only ledger (USB stick copy, 'Read-only' attribute) was replaced anyway."""
    import os
    import stat

    from toolkit.core.errors import ToolkitError
    from toolkit.demo.ledger import build_demo_ledger
    from toolkit.excel.safe_write import LedgerReadOnly, write_safely
    from toolkit.jobs import new_ledger_workbook, update_status_file

    path = tmp_path / "台账.xlsx"
    new_ledger_workbook(path, build_demo_ledger())
    os.chmod(path, 0o444)
    data, stamp = path.read_bytes(), path.stat().st_mtime_ns
    with pytest.raises(ToolkitError) as exc:
        update_status_file(path, today=date(2025, 9, 30))
    assert "只读" in str(exc.value) and "取消" in str(exc.value)
    assert isinstance(exc.value.__cause__, LedgerReadOnly)
    assert path.read_bytes() == data and path.stat().st_mtime_ns == stamp
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert not (tmp_path / "台账备份").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["台账.xlsx"]  # no temporary file either
    # The command line says so too, with a usage-error exit code and no traceback.
    result = runner.invoke(app, ["status", str(path), "--today", "2025-09-30"])
    assert result.exit_code == 2 and "只读" in result.output and "Traceback" not in result.output
    # A dry run writes nothing, so it still lists what a write would change.
    _, dry = update_status_file(path, today=date(2025, 9, 30), dry_run=True)
    assert dry.changes and not dry.written
    # Writable again: the write goes through.
    os.chmod(path, 0o644)
    from toolkit.core.check import check_tables
    from toolkit.excel.ledger_file import read_ledger_tables

    plan = check_tables(read_ledger_tables(path), today=date(2025, 9, 30), source=path.name).plan
    assert write_safely(path, plan).written

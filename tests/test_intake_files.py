"""The ledger read from real workbook files with the oddities staff produce."""

from datetime import date, datetime

import openpyxl
from conftest import PROBLEM_ROWS, SETTINGS_ROWS, TASK_HEADER

from toolkit.jobs.ledger import check_file


def _write(path, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    return wb


def test_merged_category_formulas_fullwidth_and_spaces(tmp_path):
    path = tmp_path / "台账 (副本).xlsx"
    problems = [["反馈问题清单"], ["编号", "方面", "问题", "牵头单位"],
                [1, "关于贯彻落实方面", "学习不深入", "办公室"],
                [2, None, "履职不到位", "办公室"]]  # category merged over rows 3-4
    tasks = [TASK_HEADER,
             ["1-1", "１", "加强学习。", "", "李国强", "办公室  ", "周丽", "2024年6月底", None, "推进中 ", None, None,
              None, None],
             ["2-1", 2, "规范履职。", "", "李国强", "办公室", "周丽", datetime(2025, 6, 30), None, "已完成",
              "=DATE(2024,5,6)", "文件", None, None]]
    wb = _write(path, {"基本信息": SETTINGS_ROWS, "问题清单": problems, "任务清单": tasks,
                       "责任清单": [["姓名", "单位"], ["李国强", "办公室"], ["周丽", "办公室"]]})
    wb["问题清单"].merge_cells("B3:B4")
    wb.save(path)  # a test fixture made by the test, not a staff workbook
    result = check_file(path, today=date(2025, 4, 7))
    ledger = result.ledger
    assert [p.category for p in ledger.problems] == ["关于贯彻落实方面", "关于贯彻落实方面"]
    t1, t2 = ledger.tasks
    assert (t1.problem_id, t1.unit, t1.state, t1.deadline.on) == ("1", "办公室", "推进中", date(2024, 6, 30))
    assert t2.deadline.on == date(2025, 6, 30)
    # openpyxl writes no cached value for the formula: the completion date reads as missing,
    # which is reported where it is — not silently taken as some other value.
    assert [(i.location.cell, i.code) for i in result.report.errors] == [("K3", "done-without-date")]


def test_error_values_in_a_real_file_are_located(tmp_path):
    path = tmp_path / "err.xlsx"
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    for name, rows in (("基本信息", SETTINGS_ROWS), ("问题清单", PROBLEM_ROWS)):
        ws = wb.add_worksheet(name)
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                ws.write(i, j, v) if not isinstance(v, date) else ws.write_datetime(i, j, datetime(v.year, v.month, v.day))
    ws = wb.add_worksheet("任务清单")
    ws.write_row(0, 0, TASK_HEADER)
    ws.write_row(1, 0, ["1-1", 1, "加强学习。", "", "李国强", "办公室", "周丽", "2024-06-30", None, "推进中"])
    ws.write_formula(1, 3, "=#REF!+1", None, "#REF!")
    ws.write_row(2, 0, ["2-1", 2, "规范履职。", "", "李国强", "办公室", "周丽", "2024-06-30", None, "推进中"])
    wb.close()
    result = check_file(path, today=date(2025, 4, 7))
    assert [(i.location.sheet, i.location.cell, i.code) for i in result.report.errors] == [("任务清单", "D2", "excel-error")]

"""What a write reads first, read while the check waits for the task sheet's parse (safe_write.read_ahead_of_write,
FileLedger._read_ahead, StagedTables' ``while_parsing``).

The read-ahead may only ever save time: the written file is byte for byte what the write makes without it, and
bytes read before the file changed are never used.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import xlsxwriter
from python_calamine import CalamineWorkbook
from test_writeback_rowrun import _plan, _sheet

from toolkit.excel.patch import prepare_patch, read_ahead
from toolkit.excel.read import StagedTables, read_workbook
from toolkit.excel.safe_write import read_ahead_of_write, write_safely


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def test_a_write_from_bytes_read_ahead_is_the_write_without_them(tmp_path: Path) -> None:
    one = _sheet(tmp_path / "one.xlsx", 300)
    two = tmp_path / "two.xlsx"
    shutil.copyfile(one, two)
    plan = _plan(300)
    ahead = read_ahead_of_write(one, _stat(one))
    assert ahead is not None and ahead.opened is not None
    # The largest sheet is decompressed and the shared strings parsed already.
    assert "xl/worksheets/sheet1.xml" in ahead.opened.pkg._cache and ahead.opened.strings._raw is not None
    with_ahead = write_safely(one, plan, backup_dir=tmp_path / "b1", ahead=ahead)
    without = write_safely(two, plan, backup_dir=tmp_path / "b2")
    assert ahead.blob is None and ahead.opened is None  # taken by the write, not held beside it
    assert with_ahead.written and one.read_bytes() == two.read_bytes()
    assert with_ahead.changes == without.changes


def test_bytes_read_before_the_file_changed_are_not_used(tmp_path: Path) -> None:
    path = _sheet(tmp_path / "l.xlsx", 50)
    ahead = read_ahead_of_write(path, _stat(path))
    # Staff save a different version in between (more rows): the write must start from it.
    _sheet(tmp_path / "newer.xlsx", 80)
    os.replace(tmp_path / "newer.xlsx", path)
    plan = _plan(80)
    res = write_safely(path, plan, backup_dir=tmp_path / "b", ahead=ahead)
    assert res.written
    assert len(read_workbook(path)["任务清单"].rows) == 81
    # As of a stat that is no longer the file's, nothing is read ahead at all.
    assert read_ahead_of_write(path, (1, 1)) is None


def test_a_sheet_too_big_to_hold_is_not_decompressed_ahead(tmp_path: Path) -> None:
    path = _sheet(tmp_path / "l.xlsx", 200)
    blob = path.read_bytes()
    opened = read_ahead(blob, max_sheet_bytes=100)
    assert "xl/worksheets/sheet1.xml" not in opened.pkg._cache and opened.strings._raw is not None
    # The package read ahead gives the same patch as a package opened by the patch itself.
    plan = _plan(200)
    a, b = prepare_patch(blob, plan, opened=opened), prepare_patch(blob, plan)
    a.write(tmp_path / "a.xlsx")
    b.write(tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    # Read ahead for other bytes, it is not used (the patch opens its own bytes).
    other = read_ahead(_sheet(tmp_path / "o.xlsx", 10).read_bytes(), max_sheet_bytes=1 << 30)
    c = prepare_patch(blob, plan, opened=other)
    c.write(tmp_path / "c.xlsx")
    assert (tmp_path / "c.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def _two_sheets(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("S0").write("A1", "小")
    big = wb.add_worksheet("S1")
    for r in range(100):
        big.write_row(r, 0, [f"1-{r}", "措施"])
    wb.close()
    return path


def _staged(path: Path, parse_now: threading.Event, calls: list[str]) -> StagedTables:
    """A StagedTables whose background parse waits for ``parse_now``."""
    wb = CalamineWorkbook.from_path(str(path))
    box: dict = {}

    def parse() -> None:
        parse_now.wait(10)
        box["sheet"] = wb.get_sheet_by_name("S1")

    worker = threading.Thread(target=parse)
    worker.start()
    small = read_workbook(path, sheets=["S0"])

    def idle() -> None:
        calls.append("idle")
        parse_now.set()

    return StagedTables(path, ["S0", "S1"], small, "S1", worker, box, wb, while_parsing=idle)


def test_work_for_the_wait_runs_once_while_the_sheet_still_parses(tmp_path: Path) -> None:
    path = _two_sheets(tmp_path / "w.xlsx")
    calls: list[str] = []
    tables = _staged(path, threading.Event(), calls)
    assert tables["S0"].rows == [["小"]] and calls == []  # a ready sheet does not wait
    assert len(tables["S1"].rows) == 100 and calls == ["idle"]
    assert len(tables["S1"].rows) == 100 and calls == ["idle"]


def test_no_work_for_the_wait_once_the_parse_is_over(tmp_path: Path) -> None:
    path = _two_sheets(tmp_path / "w.xlsx")
    calls: list[str] = []
    done = threading.Event()
    done.set()
    tables = _staged(path, done, calls)
    tables._worker.join()
    assert len(tables["S1"].rows) == 100 and calls == []

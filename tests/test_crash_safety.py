"""write_safely: killed at any step the ledger is old or new; locks, backups, dry runs."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest
from fidelity_workbook import TASK_SHEET, build_fidelity_workbook
from python_calamine import CalamineWorkbook

from toolkit.core.plan import CellStyle, CellWrite, SheetPlan, WritePlan
from toolkit.excel.patch import prepare_patch
from toolkit.excel.safe_write import VerifyFailed, WorkbookLocked, _verify, find_lock, write_safely

REPO = Path(__file__).resolve().parents[1]


def status_plan(text: str = "已逾期", rows: int = 20) -> WritePlan:
    cells = [CellWrite(r, "I", f"{text}{r}", CellStyle(fill="FFC7CE") if r % 2 else None) for r in range(2, rows + 2)]
    cells += [CellWrite(r, "J", r) for r in range(2, rows + 2)]
    return WritePlan([SheetPlan(TASK_SHEET, cells, owned_columns=("I", "J"))])


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    folder = tmp_path / "ledger"
    folder.mkdir()
    return build_fidelity_workbook(folder / "台账.xlsx")


CHILD = textwrap.dedent(
    """
    import pathlib, pickle, sys, time
    from toolkit.excel.safe_write import write_safely

    ledger, plan_file, stop_at, marker = sys.argv[1:5]
    plan = pickle.loads(pathlib.Path(plan_file).read_bytes())

    def on_step(name):
        if name == stop_at:
            pathlib.Path(marker).write_text(name)
            time.sleep(600)

    write_safely(ledger, plan, on_step=on_step)
    pathlib.Path(marker).write_text("finished")
    """
)


def run_and_kill(ledger: Path, plan: WritePlan, stop_at: str, tmp_path: Path) -> str:
    """Run write_safely in a child, SIGKILL it when it reaches ``stop_at``; return what it reached."""
    plan_file = tmp_path / "plan.pickle"
    plan_file.write_bytes(pickle.dumps(plan))
    marker = tmp_path / f"reached-{stop_at}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(ledger), str(plan_file), stop_at, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), f"the writer never reached {stop_at} (exit code {child.poll()})"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return marker.read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop_at", "expect_new"),
    [
        ("after-backup", False),
        ("mid-temp-write", False),
        ("after-temp-write", False),
        ("after-verify", False),
        ("after-replace", True),
    ],
)
def test_killed_writer_leaves_old_or_new_ledger(ledger: Path, tmp_path: Path, stop_at: str, expect_new: bool):
    plan = status_plan()
    old = ledger.read_bytes()
    new_file = tmp_path / "expected-new.xlsx"
    prepare_patch(old, plan).write(new_file)  # the patch is deterministic
    new = new_file.read_bytes()
    assert new != old

    assert run_and_kill(ledger, plan, stop_at, tmp_path) == stop_at

    assert ledger.read_bytes() == (new if expect_new else old)
    assert CalamineWorkbook.from_path(str(ledger)).get_sheet_by_name(TASK_SHEET).to_python()[0][8] == "【自动】状态"
    folder = ledger.parent
    workbooks = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in (".xlsx", ".xlsm", ".xls"))
    assert workbooks == ["台账.xlsx"], "a stray temporary file must never look like a workbook"
    strays = [p for p in folder.iterdir() if p.is_file() and p.name != "台账.xlsx"]
    assert all(p.name.startswith(".~台账.xlsx.") and p.name.endswith(".tmp") for p in strays)
    backups = list((folder / "台账备份").iterdir())
    assert [b.read_bytes() for b in backups] == [old]

    # The next run completes the job and, once they are stale, sweeps temporary leftovers.
    for p in strays:
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    result = write_safely(ledger, plan)
    assert result.written == (not expect_new)
    assert ledger.read_bytes() == new
    assert [p.name for p in folder.iterdir() if p.is_file()] == ["台账.xlsx"]


def test_write_safely_backs_up_first_and_keeps_the_newest(ledger: Path):
    originals = []
    for i in range(5):
        originals.append(ledger.read_bytes())
        result = write_safely(ledger, status_plan(f"第{i}次"), keep_backups=3, now=datetime(2025, 1, 1, 8, 0, i))
        assert result.written and result.backup is not None
    backups = sorted((ledger.parent / "台账备份").iterdir())
    assert [b.name for b in backups] == [f"台账_20250101-08000{i}.xlsx" for i in (2, 3, 4)]
    assert [b.read_bytes() for b in backups] == originals[2:]


def test_same_second_backups_do_not_overwrite_each_other(ledger: Path):
    stamp = datetime(2025, 1, 1, 8, 0, 0)
    write_safely(ledger, status_plan("甲"), now=stamp)
    write_safely(ledger, status_plan("乙"), now=stamp)
    names = sorted(p.name for p in (ledger.parent / "台账备份").iterdir())
    assert names == ["台账_20250101-080000.xlsx", "台账_20250101-080000_2.xlsx"]


def test_dry_run_lists_changes_and_writes_nothing(ledger: Path):
    data, mtime = ledger.read_bytes(), ledger.stat().st_mtime_ns
    plan = status_plan(rows=3)  # rows 5..21 of I:J are cleared
    result = write_safely(ledger, plan, dry_run=True)
    assert result.dry_run and not result.written and result.backup is None
    assert ledger.read_bytes() == data and ledger.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in ledger.parent.iterdir()) == ["台账.xlsx"]
    first = result.changes[0]
    assert (first.sheet, first.cell, first.old, first.new) == (TASK_SHEET, "I2", "旧状态", "已逾期2")
    assert first.describe() == "任务清单!I2：“旧状态” → “已逾期2”"
    cleared = [c for c in result.changes if c.new is None]
    assert {c.cell for c in cleared} == {f"{col}{r}" for col in "IJ" for r in range(5, 22)}
    assert write_safely(ledger, plan).changes == result.changes


def excel_owner_file(user: str) -> bytes:
    """Owner file as Excel writes it: ANSI name padded to 54 bytes, then the UTF-16LE name."""
    n = len(user)
    ansi = user.encode("gbk")[:53].ljust(53, b" ")
    return bytes([n]) + ansi + bytes([n, 0]) + user.encode("utf-16-le") + b"\x20\x00" * (54 - n)


@pytest.mark.parametrize(
    ("content", "user"),
    [
        (excel_owner_file("张三"), "张三"),
        (excel_owner_file("zhangsan"), "zhangsan"),
        (bytes([2]) + "李四".encode("utf-16-le"), "李四"),
        (bytes([6]) + b"wangwu".ljust(53, b" "), "wangwu"),
    ],
)
def test_excel_or_wps_owner_file_refuses_and_names_the_user(ledger: Path, content: bytes, user: str):
    lock = ledger.with_name("~$台账.xlsx")
    lock.write_bytes(content)
    data, mtime = ledger.read_bytes(), ledger.stat().st_mtime_ns
    with pytest.raises(WorkbookLocked) as exc:
        write_safely(ledger, status_plan())
    assert exc.value.user == user
    assert f"正被 “{user}” 用 Excel/WPS 打开" in exc.value.message
    assert "删除同一文件夹中的隐藏文件「~$台账.xlsx」" in exc.value.message
    assert ledger.read_bytes() == data and ledger.stat().st_mtime_ns == mtime
    assert not (ledger.parent / "台账备份").exists()


def test_libreoffice_lock_refuses_and_names_the_user(ledger: Path):
    lock = ledger.with_name(".~lock.台账.xlsx#")
    lock.write_text("王五,DESKTOP-7,/home/wangwu/.config/libreoffice/4,27.11.2025 10:15,file:///x;", encoding="utf-8")
    data = ledger.read_bytes()
    with pytest.raises(WorkbookLocked, match="正被 “王五” 用 LibreOffice 打开.*「.~lock.台账.xlsx#」"):
        write_safely(ledger, status_plan())
    assert ledger.read_bytes() == data
    assert find_lock(ledger).user == "王五"
    lock.unlink()
    assert write_safely(ledger, status_plan()).written


def test_unreadable_owner_file_still_refuses(ledger: Path):
    ledger.with_name("~$台账.xlsx").write_bytes(b"\x00\x00\x00")
    with pytest.raises(WorkbookLocked, match="正被 其他用户 用 Excel/WPS 打开"):
        write_safely(ledger, status_plan())


def test_failure_after_the_temp_write_removes_the_temp_and_keeps_the_ledger(ledger: Path):
    data = ledger.read_bytes()

    class Interrupted(Exception):
        pass

    def fail(step: str) -> None:
        if step == "after-temp-write":
            raise Interrupted

    with pytest.raises(Interrupted):
        write_safely(ledger, status_plan(), on_step=fail)
    assert ledger.read_bytes() == data
    assert sorted(p.name for p in ledger.parent.iterdir()) == ["台账.xlsx", "台账备份"]


def test_verification_names_the_cell_that_reads_back_wrong(ledger: Path, tmp_path: Path):
    """A copy patched for one plan does not verify against another."""
    original = ledger.read_bytes()
    prepared = prepare_patch(original, status_plan("甲"))
    temp = tmp_path / "patched.tmp"
    prepared.write(temp)
    _verify(temp, original, prepared, status_plan("甲"))  # the right plan verifies
    with pytest.raises(VerifyFailed, match="任务清单」的 I2 应为 “乙2”，读回的是 “甲2”") as exc:
        _verify(temp, original, prepared, status_plan("乙"))
    assert "原文件保持不变" in exc.value.message

"""`zhenggai status` (the real command, not a hand-made plan) on workbooks carrying every feature
staff use: every feature survives and every member the run had no reason to touch is byte-identical."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from conftest import require
from fidelity_workbook import (
    FEATURE_MARKERS,
    MACRO_MARKERS,
    build_fidelity_workbook,
    find_vba_project,
    resave_with_libreoffice,
)
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.excel.patch import member_records

runner = CliRunner()


def _present(path: Path, markers) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    return {name for name, pattern, marker in markers
            if any(re.fullmatch(pattern, n) and marker in data for n, data in members.items())}


def _sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name → worksheet part, from workbook.xml and its rels."""
    with zipfile.ZipFile(path) as zf:
        wb = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    targets = dict(re.findall(r'<(?:\w+:)?Relationship [^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(r'<(?:\w+:)?Relationship [^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)})
    out = {}
    for name, rid in re.findall(r'<(?:\w+:)?sheet [^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"', wb):
        target = targets[rid].lstrip("/")
        out[name] = target if target.startswith("xl/") else "xl/" + target
    return out


def _run_status_and_compare(path: Path, markers) -> None:
    before = {name: raw for name, _m, raw in member_records(path.read_bytes())}
    assert _present(path, markers) == {m[0] for m in markers}
    result = runner.invoke(app, ["status", str(path), "--today", "2025-06-30"])
    assert result.exit_code in (0, 1), result.output  # the fixture is not a complete ledger: issues expected
    assert "已写回台账" in result.output
    after = {name: raw for name, _m, raw in member_records(path.read_bytes())}
    assert _present(path, markers) == {m[0] for m in markers}
    parts = _sheet_parts(path)
    may_change = {parts[s] for s in ("任务清单", "问题清单", "校验结果", "统计") if s in parts} | {
        "xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml", "xl/calcChain.xml"}
    untouched = [n for n in before if n not in may_change]
    assert untouched, "the fixture should have many members the run does not touch"
    assert [n for n in untouched if after.get(n) != before[n]] == []
    assert list(after)[: len(before)] == list(before)  # member order kept; new parts only appended
    # The owned columns really carry statuses now.
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("任务清单").to_python()
    header = rows[0]
    status_col = header.index("【自动】状态")
    assert {r[status_col] for r in rows[1:] if r[0]} <= {"按期推进", "临期", "逾期", "按期完成", "逾期完成", "已销号",
                                                        "长期坚持"}
    assert any(r[status_col] for r in rows[1:])
    # And a second run changes nothing.
    data = path.read_bytes()
    again = runner.invoke(app, ["status", str(path), "--today", "2025-06-30"])
    assert "无需写入" in again.output
    assert path.read_bytes() == data


@pytest.mark.parametrize("suffix", ["xlsx", "xlsm"])
def test_status_command_keeps_every_feature(tmp_path, suffix):
    macro = suffix == "xlsm"
    if macro:
        assert find_vba_project() is not None  # xlwings, a hard dependency, ships it
    path = build_fidelity_workbook(tmp_path / f"台账 副本.{suffix}", macro=macro, rows=20, problems=True)
    _run_status_and_compare(path, FEATURE_MARKERS + (MACRO_MARKERS if macro else ()))


@pytest.mark.slow
def test_status_command_on_a_libreoffice_saved_workbook(tmp_path):
    require("soffice")
    src = build_fidelity_workbook(tmp_path / "台账.xlsx", rows=20, problems=True)
    out = resave_with_libreoffice(src, tmp_path / "out", tmp_path / "profile")
    assert out is not None, "LibreOffice produced no file"
    # LibreOffice rewrites features in its own way: check the ones it keeps, before and after our run.
    kept = tuple(m for m in FEATURE_MARKERS if m[0] in _present(out, FEATURE_MARKERS))
    assert len(kept) >= 8
    _run_status_and_compare(out, kept)

"""Consoles that never crash, and exit codes that tell the truth.

The Task Scheduler recipe redirects output to a log file; on Chinese Windows that stream is
code page 936 (GBK). ``PYTHONIOENCODING=gbk`` reproduces it here, in a real subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.jobs.crashlog import LOG_NAME

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def zhenggai(*args: str, encoding: str = "gbk", env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], capture_output=True, env=full_env,
                          timeout=300)


@pytest.mark.parametrize("command", [["check"], ["status"], ["notice"], ["check", "--json"]])
def test_gbk_redirected_output_does_not_crash(demo_file, command):
    run = zhenggai(command[0], str(demo_file), *command[1:])
    err = run.stderr.decode("gbk", "replace")
    assert run.returncode == 0, err
    out = run.stdout.decode("gbk")  # the log file is valid GBK
    assert "Traceback" not in out + err
    if command == ["check"]:
        assert "√ 校验完成" in out


def test_unencodable_characters_are_replaced_not_fatal(tmp_path, demo_file):
    """A code page without Chinese at all (ASCII): still exit 0, the text degrades to '?'."""
    run = zhenggai("check", str(demo_file), encoding="ascii")
    assert run.returncode == 0, run.stderr.decode("ascii", "replace")
    assert b"?" in run.stdout and b"Traceback" not in run.stdout + run.stderr


def test_internal_error_exit_3_with_chinese_line_and_log(demo_file, monkeypatch, tmp_path):
    def broken(*args, **kwargs):  # fault injection: a defect deep in the job
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("toolkit.jobs.sources.check_ledger", broken)
    monkeypatch.setenv("ZHENGGAI_LOG_DIR", str(tmp_path / "日志"))
    before = demo_file.read_bytes()
    result = runner.invoke(app, ["status", str(demo_file)])
    assert result.exit_code == 3
    assert "更新状态时出现程序内部错误（ZeroDivisionError" in result.output
    assert "Traceback" not in result.output
    log = tmp_path / "日志" / LOG_NAME
    assert str(log) in result.output and "ZeroDivisionError" in log.read_text(encoding="utf-8")
    assert demo_file.read_bytes() == before


def test_unusable_input_exit_2_says_so_in_chinese(tmp_path):
    result = runner.invoke(app, ["status", str(tmp_path / "没有.xlsx")])
    assert result.exit_code == 2 and "找不到文件" in result.output


def test_main_entry_point_turns_a_defect_into_exit_3(monkeypatch, tmp_path, capsys):
    """The console_scripts entry point itself: no traceback even for an error outside any job."""
    from toolkit.cli import commands as app_module

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(app_module, "app", broken)
    monkeypatch.setenv("ZHENGGAI_LOG_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        app_module.main(["check", "x.xlsx"])
    assert exit_info.value.code == 3
    err = capsys.readouterr().err
    assert "程序内部错误" in err and "Traceback" not in err
    assert (tmp_path / LOG_NAME).is_file()


def test_usage_error_is_exit_2():
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2


def test_a_bad_today_is_exit_2(demo_file):
    result = runner.invoke(app, ["check", str(demo_file), "--today", "明天"])
    assert result.exit_code == 2 and "--today" in result.output


@pytest.mark.parametrize("day", ["1999-01-01", "2099-12-31"])
def test_a_today_decades_away_is_refused(demo_file, day):
    """Regression: --today 1999 or 2099 was accepted silently and every figure shifted."""
    before = demo_file.read_bytes()
    result = runner.invoke(app, ["status", str(demo_file), "--today", day])
    assert result.exit_code == 2, result.output
    assert "统计日期" in result.output or "日期" in result.output
    assert demo_file.read_bytes() == before

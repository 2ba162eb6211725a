"""The .cmd launchers for WPS users: pure-ASCII batch files that hand over to ``python -m toolkit.launch``.

cmd.exe does not run here; what it needs is checked on the bytes (ASCII, CRLF, labels and
quoting). The Python side it hands over to runs for real, as cmd.exe would start it:
``python -m toolkit.launch <job> <launcher.cmd>`` in a subprocess, on real ledger files.
Double-clicking on Windows stays a manual check (docs/staff-setup.md, section 七).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.excel.vba.project import MACROS
from toolkit.jobs import launchers
from toolkit.jobs.launchers import LAUNCHERS, LauncherError, ledger_name_of, render_launcher, write_launchers

ROOT = Path(__file__).resolve().parents[1]
LEDGER = "整改台账 2025（第一轮）&副本.xlsm"


@pytest.fixture
def written(tmp_path):
    folder = tmp_path / "整改 台账 & 报送 (2025)"
    folder.mkdir()
    return folder, write_launchers(folder, LEDGER)


def lines_of(path):
    return path.read_bytes().decode("ascii").split("\r\n")


def test_one_launcher_per_button_in_button_order(written):
    folder, paths = written
    assert [p.name for p in paths] == [f"{b.caption}.cmd" for b in MACROS]
    assert all(p.parent == folder and p.is_file() for p in paths)
    assert [launcher.function for launcher in LAUNCHERS] == [b.function for b in MACROS]


def test_bytes_are_ascii_with_crlf(written):
    _, paths = written
    for path in paths:
        data = path.read_bytes()
        assert data.isascii()  # no code page can misread it; no chcp needed
        assert data.startswith(b"@echo off\r\n") and data.endswith(b"\r\n")
        assert b"\n" not in data.replace(b"\r\n", b"")
        assert b"chcp" not in data


@pytest.mark.parametrize(("function", "job"), [(launcher.function, launcher.job) for launcher in LAUNCHERS])
def test_each_launcher_hands_its_job_to_python(written, function, job):
    folder, _ = written
    caption = next(b.caption for b in MACROS if b.function == function)
    lines = lines_of(folder / f"{caption}.cmd")
    assert f'"%PYEXE%" %PYARGS% -m toolkit.launch {job} "%~f0"' in lines
    assert '"%PYEXE%" %PYARGS% -c "import toolkit.launch" >nul 2>nul || goto no_toolkit' in lines
    assert ledger_name_of("\r\n".join(lines)) == LEDGER


def test_labels_exist_and_every_goto_has_its_label(written):
    folder, _ = written
    lines = lines_of(folder / "更新状态.cmd")
    labels = [ln[1:] for ln in lines if ln.startswith(":")]
    assert sorted(labels) == ["no_python", "no_toolkit"]
    targets = {m.group(1) for ln in lines for m in [re.search(r"goto (\w+)", ln)] if m}
    assert targets <= set(labels)


def test_echo_lines_have_no_characters_cmd_would_interpret(written):
    """Unquoted & | < > ^ ( ) % in an echo would run or break something; the interpreter path is echoed in quotes."""
    _, paths = written
    for path in paths:
        for line in lines_of(path):
            if not line.startswith("echo "):
                continue
            text = re.sub(r'"%\w+%"', "", line[5:])
            assert not set(text) & set('&|<>^()%"!'), line


def test_interpreter_path_is_quoted_on_its_own(tmp_path):
    """A profile path with & and parentheses: quoted as one token, never nested in another quoted string."""
    exe = r"C:\Users\Tom & Jerry (IT)\zhenggai\venv\Scripts\python.exe"
    lines = render_launcher(LAUNCHERS[1], LEDGER, python=exe).split("\r\n")
    assert f'if exist "{exe}" set "PYEXE={exe}"' in lines
    search = [ln for ln in lines if "PYEXE=" in ln and ln.startswith(("if", "set"))]
    assert search[0] == 'set "PYEXE="'
    assert search[1].startswith(f'if exist "{exe}"')
    assert search[2] == f'if not defined PYEXE if exist "{launchers.VENV_PYTHON}" set "PYEXE={launchers.VENV_PYTHON}"'
    assert 'if not defined PYEXE py -3 -c "import toolkit.launch" >nul 2>nul && set "PYEXE=py"' in lines


def test_percent_in_the_python_path_is_doubled():
    text = render_launcher(LAUNCHERS[0], LEDGER, python=r"D:\100%\python.exe")
    assert r'if exist "D:\100%%\python.exe"' in text


def test_chinese_python_path_under_the_profile_becomes_an_environment_variable(monkeypatch):
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\张三\AppData\Local")
    text = render_launcher(LAUNCHERS[0], LEDGER, python=r"C:\Users\张三\AppData\Local\py\python.exe")
    assert r'if exist "%LOCALAPPDATA%\py\python.exe"' in text and text.isascii()
    with pytest.raises(LauncherError, match="非 ASCII"):
        render_launcher(LAUNCHERS[0], LEDGER, python=r"D:\软件\python.exe")


@pytest.mark.parametrize("name", ["", r"D:\整改\台账.xlsx", "台账?.xlsx", '台"账.xlsx', "台账.docx", "..", "a\nb.xlsx"])
def test_bad_workbook_names_are_refused(tmp_path, name):
    with pytest.raises(LauncherError):
        write_launchers(tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(LauncherError, match="文件夹不存在"):
        write_launchers(tmp_path / "没有", LEDGER)


def test_rewriting_replaces_the_files(written):
    folder, paths = written
    again = write_launchers(folder, "新台账.xlsx")
    assert again == paths
    assert ledger_name_of(again[0].read_text(encoding="ascii")) == "新台账.xlsx"


# ----------------------------------------------------------------------------- the Python side, run for real


def launch(job: str, launcher: Path, *, encoding: str = "utf-8") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "toolkit.launch", job, str(launcher), "--no-pause"],
                          capture_output=True, env=env, cwd=launcher.parent, timeout=300)


def test_launcher_runs_the_check_job_and_says_the_verdict_in_gbk(demo_file):
    made = write_launchers(demo_file.parent, demo_file.name)
    run = launch("check", made[0], encoding="gbk")  # a Chinese-Windows console or log file
    out = run.stdout.decode("gbk")
    assert run.returncode == 0, out + run.stderr.decode("gbk", "replace")
    assert "校验完成" in out and out.rstrip().endswith("校验完成：台账中没有错误。")
    assert "Traceback" not in out + run.stderr.decode("gbk", "replace")


def test_launcher_without_its_ledger_says_so_in_chinese(tmp_path):
    made = write_launchers(tmp_path, "不存在的台账.xlsx")
    run = launch("status", made[1])
    out = run.stdout.decode("utf-8")
    assert run.returncode == 2 and "找不到台账文件" in out and "未能完成" in out


def test_launcher_exit_1_on_a_ledger_with_errors(demo_file):
    import openpyxl

    wb = openpyxl.load_workbook(demo_file)  # a test's own fixture file
    wb["任务清单"]["J3"] = "已完"
    wb.save(demo_file)
    made = write_launchers(demo_file.parent, demo_file.name)
    run = launch("status", made[1])
    out = run.stdout.decode("utf-8")
    assert run.returncode == 1, out
    assert "整改状态已更新，但台账中有错误" in out and "任务清单!J3" in out

"""The .cmd launchers for WPS users: one per button, bytes cmd.exe can run, names quoted safely.

cmd.exe does not run here; what it needs is checked on the bytes (no BOM, CRLF, ASCII before
``chcp 65001``), the quoting rules on the text. Running them stays a manual check on Windows
(docs/staff-setup.md, section 七).
"""

from __future__ import annotations

import re

import pytest

from toolkit.jobs import launchers
from toolkit.excel.vba.project import MACROS
from toolkit.jobs.launchers import LAUNCHERS, LauncherError, render_launcher, write_launchers
from toolkit.macros import DEFAULT_INBOX

LEDGER = "整改台账 2025（第一轮）.xlsm"


@pytest.fixture
def written(tmp_path):
    folder = tmp_path / "整改 台账 & 报送 (2025)"
    folder.mkdir()
    return folder, write_launchers(folder, LEDGER)


def lines_of(path):
    return path.read_bytes().decode("utf-8").split("\r\n")


def test_one_launcher_per_button_in_button_order(written):
    folder, paths = written
    assert [p.name for p in paths] == [f"{b.caption}.cmd" for b in MACROS]
    assert all(p.parent == folder and p.is_file() for p in paths)
    assert [launcher.function for launcher in LAUNCHERS] == [b.function for b in MACROS]


def test_bytes_are_utf8_without_bom_with_crlf(written):
    _, paths = written
    for path in paths:
        data = path.read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")  # a BOM would break "@echo off"
        assert data.endswith(b"\r\n")
        assert b"\n" not in data.replace(b"\r\n", b"")  # every line end is CRLF
        text = data.decode("utf-8")
        before_chcp = text.split("chcp 65001", 1)[0]
        assert before_chcp.isascii() and text.startswith("@echo off\r\n")


@pytest.mark.parametrize(
    ("function", "command"),
    [
        ("check_ledger", 'check "%LEDGER%"'),
        ("update_status", 'status "%LEDGER%"'),
        ("make_county_templates", 'county-templates "%LEDGER%"'),
        ("consolidate_counties", 'consolidate "%LEDGER%" "%INBOX%"'),
        ("make_notice", 'notice "%LEDGER%"'),
    ],
)
def test_each_launcher_runs_its_command_on_the_workbook_beside_it(written, function, command):
    folder, _ = written
    caption = next(b.caption for b in MACROS if b.function == function)
    lines = lines_of(folder / f"{caption}.cmd")
    assert f'set "LEDGER=%~dp0{LEDGER}"' in lines
    assert f"%ZG% {command}" in lines
    assert 'if not exist "%LEDGER%" goto no_ledger' in lines
    assert lines[-4:] == ["echo.", "pause", "exit /b %RC%", ""]
    assert f"title {caption}" in lines


def test_consolidate_launcher_checks_the_inbox_folder(written):
    folder, _ = written
    lines = lines_of(folder / "汇总县区报送.cmd")
    assert f'set "INBOX=%~dp0{DEFAULT_INBOX}"' in lines
    assert 'if not exist "%INBOX%\\" goto no_inbox' in lines


def test_exit_codes_lead_to_chinese_verdicts(written):
    folder, _ = written
    lines = lines_of(folder / "更新状态.cmd")
    jumps = [ln for ln in lines if ln.startswith('if "%RC%"==')]
    assert jumps == ['if "%RC%"=="0" goto rc0', 'if "%RC%"=="1" goto rc1']
    for label in ("rc0", "rc1", "no_ledger", "no_python", "end"):
        assert f":{label}" in lines
        assert sum(ln == f":{label}" for ln in lines) == 1
    targets = {m.group(1) for ln in lines for m in [re.search(r"goto (\w+)$", ln)] if m}
    assert targets <= {ln[1:] for ln in lines if ln.startswith(":")}
    verdict = lines[lines.index(":rc1") + 1]
    assert verdict.startswith("echo 整改状态已写回台账，但台账中有错误")


def test_echo_lines_have_no_characters_cmd_would_interpret(written):
    """Unquoted & | < > ^ ( ) % in an echo would run or break something; paths are echoed in quotes."""
    _, paths = written
    for path in paths:
        for line in lines_of(path):
            if not line.startswith("echo "):
                continue
            text = line[5:]
            if text.startswith('"') and text.endswith('"'):
                assert text.count('"') == 2 and re.fullmatch(r'"%\w+%"', text), line
                continue
            assert not set(text) & set('&|<>^()%"!'), line


def test_percent_in_the_name_is_doubled(tmp_path):
    text = render_launcher(LAUNCHERS[0], "完成率100%台账.xlsx")
    assert 'set "LEDGER=%~dp0完成率100%%台账.xlsx"' in text


def test_python_search_order(tmp_path):
    exe = r"C:\Program Files (x86)\Python 3.11\python.exe"
    lines = render_launcher(LAUNCHERS[1], LEDGER, python=exe).split("\r\n")
    search = [ln for ln in lines if "ZG=" in ln]
    assert search == [
        'set "ZG="',
        f'if exist "{exe}" set "ZG="{exe}" -m toolkit.cli"',
        f'if not defined ZG if exist "{launchers.VENV_PYTHON}" set "ZG="{launchers.VENV_PYTHON}" -m toolkit.cli"',
        'if not defined ZG where zhenggai >nul 2>nul && set "ZG=zhenggai"',
        'if not defined ZG py -3 -c "import toolkit.cli" >nul 2>nul && set "ZG=py -3 -m toolkit.cli"',
        'if not defined ZG python -c "import toolkit.cli" >nul 2>nul && set "ZG=python -m toolkit.cli"',
    ]
    without = render_launcher(LAUNCHERS[1], LEDGER)
    assert "if exist" in without and 'ZG="C:' not in without


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
    assert 'set "LEDGER=%~dp0新台账.xlsx"' in lines_of(again[0])

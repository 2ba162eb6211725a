"""Double-clickable ``.cmd`` launchers beside the ledger, for WPS users and PCs without macros.

xlwings does not support WPS (xlwings#2575), and some offices block macros. For them each
button of the 操作 sheet has a twin: ``校验台账.cmd``, ``更新状态.cmd``, ``生成县区报送表.cmd``,
``汇总县区报送.cmd`` and ``生成通报.cmd`` run the ``zhenggai`` command on the workbook beside
them and leave the window open (``pause``) with the command's output and a one-line Chinese
verdict taken from its exit code. The command refuses to write while the workbook is open in
Excel or WPS and says so; the launcher adds nothing to that.

The files are plain batch scripts:

* **Encoding**: UTF-8 *without* BOM, CRLF line ends. cmd.exe reads a batch file line by line
  in the console's current code page, re-reading from the file as it goes; the first lines
  are ASCII and switch the code page to UTF-8 (``chcp 65001``), so every later line — the
  Chinese messages, the workbook's name — is decoded as UTF-8. This works on Windows 10 and
  11; on Windows 7/8, cmd.exe mishandles UTF-8 batch files (use the Excel buttons or the
  command there). A BOM would make cmd.exe read ``@echo off`` as an unknown command, and
  bare LF line ends break ``goto`` label search, hence CRLF.
* **Quoting**: the workbook path is ``"%~dp0<name>"`` (the launcher's own folder), always in
  double quotes, so spaces and ``&``/``(``/``)`` in folder or file names are safe; a ``%`` in
  the file name is written as ``%%``. Messages avoid ``& | < > ^ ( ) %`` and ASCII quotes,
  and paths are echoed inside quotes.
* **Which Python**: an explicit ``python`` given to :func:`write_launchers`; else the per-user
  install of the setup guide (``%LOCALAPPDATA%\\zhenggai\\venv\\Scripts\\python.exe``); else
  ``zhenggai`` on PATH; else ``py -3`` or ``python`` when they can import the toolkit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from toolkit.excel.vba.project import MACROS
from toolkit.macros import DEFAULT_INBOX

__all__ = ["LAUNCHERS", "Launcher", "LauncherError", "render_launcher", "write_launchers", "VENV_PYTHON"]

VENV_PYTHON = r"%LOCALAPPDATA%\zhenggai\venv\Scripts\python.exe"
"""Where docs/staff-setup.md installs the toolkit (per user, no administrator rights needed)."""

_FORBIDDEN_NAME_CHARS = set('\\/:*?"<>|')
_FAILED = "未能完成：请查看上面的错误提示。台账在 Excel 或 WPS 中打开时不能写入，请先保存并关闭台账再运行。"


class LauncherError(ValueError):
    """The launchers cannot be written as asked (bad workbook name, missing folder); message in Chinese."""


@dataclass(frozen=True)
class Launcher:
    """One launcher: the button it stands for, the ``zhenggai`` command, and its verdict per exit code."""

    function: str  # the toolkit.macros function of the twin button
    command: str  # zhenggai sub-command
    verdicts: tuple[tuple[int, str], ...]
    inbox: bool = False  # takes the county inbox folder as second argument

    @property
    def caption(self) -> str:
        return next(b.caption for b in MACROS if b.function == self.function)

    @property
    def file_name(self) -> str:
        return f"{self.caption}.cmd"


LAUNCHERS: tuple[Launcher, ...] = (
    Launcher(
        "check_ledger",
        "check",
        (
            (0, "校验完成：台账中没有错误。"),
            (1, "台账中有错误：请按上面列出的工作表、行、列逐项修改，保存后再运行本文件。"),
        ),
    ),
    Launcher(
        "update_status",
        "status",
        (
            (0, "整改状态、校验结果和统计已写回台账，写入前已自动备份。"),
            (1, "整改状态已写回台账，但台账中有错误：请按上面的提示修改后再运行一次。"),
        ),
    ),
    Launcher("make_county_templates", "county-templates", ((0, "县区报送表已生成，请分别发给各县区。"),)),
    Launcher(
        "consolidate_counties",
        "consolidate",
        (
            (0, "县区报送已汇总进台账，汇总报告在台账旁的“县区报送汇总”文件夹中。"),
            (1, "已汇总，但有文件被退回或有冲突需要人工核对：详见“县区报送汇总”文件夹中的汇总报告。"),
        ),
        inbox=True,
    ),
    Launcher(
        "make_notice",
        "notice",
        (
            (0, "通报已生成，保存在台账旁。"),
            (1, "请查看上面的提示：台账有错误时通报内容可能不准确，或通报未能生成。"),
        ),
    ),
)
"""One launcher per button of :data:`toolkit.excel.vba.project.MACROS`, in the same order."""


def _check_name(ledger_name: str) -> str:
    name = ledger_name.strip()
    if not name or name in (".", "..") or any(ch in _FORBIDDEN_NAME_CHARS or ord(ch) < 32 for ch in name):
        raise LauncherError(
            f'台账文件名“{ledger_name}”无效：只写文件名（如 整改台账.xlsm），不要带文件夹路径或 \\ / : * ? " < > | 等字符。'
        )
    if Path(name).suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".xlsb", ".et"):
        raise LauncherError(f"“{ledger_name}”不是 Excel 工作簿的文件名，应以 .xlsx 或 .xlsm 结尾。")
    return name


def _batch_literal(text: str) -> str:
    """``text`` inside a double-quoted ``set "VAR=..."``: only ``%`` needs escaping there."""
    return text.replace("%", "%%")


def _python_lines(python: str | None) -> list[str]:
    run = " -m toolkit.cli"
    lines = ['set "ZG="']
    if python:
        exe = _batch_literal(python.strip().strip('"'))
        lines.append(f'if exist "{exe}" set "ZG="{exe}"{run}"')
    lines += [
        f'if not defined ZG if exist "{VENV_PYTHON}" set "ZG="{VENV_PYTHON}"{run}"',
        'if not defined ZG where zhenggai >nul 2>nul && set "ZG=zhenggai"',
        'if not defined ZG py -3 -c "import toolkit.cli" >nul 2>nul && set "ZG=py -3 -m toolkit.cli"',
        'if not defined ZG python -c "import toolkit.cli" >nul 2>nul && set "ZG=python -m toolkit.cli"',
        "if not defined ZG goto no_python",
    ]
    return lines


def render_launcher(launcher: Launcher, ledger_name: str, *, python: str | None = None) -> str:
    """The text of one launcher (lines joined with CRLF, ending with CRLF)."""
    name = _check_name(ledger_name)
    caption = launcher.caption
    lines = [
        "@echo off",
        "rem Generated by zhenggai-toolkit (toolkit.jobs.launchers). UTF-8 without BOM, CRLF line ends.",
        "chcp 65001 >nul",
        "setlocal",
        f"title {caption}",
        'set "PYTHONIOENCODING=utf-8"',
        f'set "LEDGER=%~dp0{_batch_literal(name)}"',
        'if not exist "%LEDGER%" goto no_ledger',
    ]
    args = '"%LEDGER%"'
    if launcher.inbox:
        lines += [
            f'set "INBOX=%~dp0{_batch_literal(DEFAULT_INBOX)}"',
            'if not exist "%INBOX%\\" goto no_inbox',
        ]
        args += ' "%INBOX%"'
    lines += _python_lines(python)
    lines += [
        f"echo {caption}：",
        'echo "%LEDGER%"',
        "echo.",
        f"%ZG% {launcher.command} {args}",
        'set "RC=%ERRORLEVEL%"',
        "echo.",
    ]
    for code, _ in launcher.verdicts:
        lines.append(f'if "%RC%"=="{code}" goto rc{code}')
    lines += [f"echo {_FAILED}", "goto end"]
    for code, text in launcher.verdicts:
        lines += [f":rc{code}", f"echo {text}", "goto end"]
    lines += [
        ":no_ledger",
        "echo 找不到台账文件：",
        'echo "%LEDGER%"',
        "echo 请把本文件和台账放在同一个文件夹中；台账改过名字的，请在台账所在文件夹重新生成这些 .cmd 文件。",
        'set "RC=2"',
        "goto end",
    ]
    if launcher.inbox:
        lines += [
            ":no_inbox",
            "echo 找不到存放县区报回文件的文件夹：",
            'echo "%INBOX%"',
            f"echo 请在台账旁新建文件夹“{DEFAULT_INBOX}”，把各县区报回的报送表放进去后再运行本文件。",
            'set "RC=2"',
            "goto end",
        ]
    lines += [
        ":no_python",
        "echo 找不到已安装整改台账工具的 Python：请按《员工电脑安装说明》安装，或联系维护人员。",
        'set "RC=9009"',
        ":end",
        "echo.",
        "pause",
        "exit /b %RC%",
    ]
    return "\r\n".join(lines) + "\r\n"


def write_launchers(folder: str | Path, ledger_name: str, *, python: str | None = None) -> list[Path]:
    """Write one ``.cmd`` per button into ``folder`` for the workbook ``ledger_name`` there; return their paths.

    ``ledger_name`` is the workbook's file name (no folder): the launchers find it beside
    themselves, so the folder can be moved or copied as a whole. ``python`` is the full path
    of ``python.exe`` to use first (see the module docstring for the fallbacks). Existing
    launchers are replaced. Raises :class:`LauncherError` for a bad name or a missing folder.
    """
    target = Path(folder)
    if not target.is_dir():
        raise LauncherError(f"文件夹不存在：{target}")
    name = _check_name(ledger_name)
    paths = []
    for launcher in LAUNCHERS:
        path = target / launcher.file_name
        path.write_bytes(render_launcher(launcher, name, python=python).encode("utf-8"))
        paths.append(path)
    return paths

"""``zhenggai bundle DIR``: an offline installation folder for 64-bit Windows staff PCs.

Staff PCs are usually offline and their users have no administrator rights. The bundle holds
everything an IT administrator carries over on a USB stick:

* ``wheelhouse/`` — a wheel of every package, for ``win_amd64`` and CPython 3.11, 3.12 and 3.13,
  at exactly the versions of the lock file kept in the repository (:data:`LOCK_FILE`), plus the
  project's own wheel (``pip wheel --no-deps .``);
* ``constraints.txt`` — a copy of the lock, so the PC installs those versions and no others;
* ``install.cmd`` — ASCII: finds (or installs, per user, from a ``python-3.1x.x-amd64.exe`` put
  beside it) a 64-bit Python 3.11–3.13, creates ``%LOCALAPPDATA%\\zhenggai\\venv`` without
  administrator rights, installs with ``--no-index``, verifies (version, a check of the demo
  ledger), and writes the per-user ``xlwings.conf``;
* ``uninstall.cmd`` and ``安装说明.txt`` (UTF-8 with BOM, so Notepad shows it).

The lock (``name==version`` lines, a marker where a package is needed on one platform only) is
regenerated with ``zhenggai bundle --update-lock``: it resolves the project's dependencies for
Windows and Linux, CPython 3.11–3.13, preferring the versions installed in the environment that
runs the command (the one the tests ran in), and checks that every wheel's requirements are met
inside the wheelhouse for each target. ``pip download --platform`` evaluates environment markers
for the machine it runs on, not for the target (a Linux machine would leave out ``pywin32`` and
``colorama``), so this module evaluates the markers itself and downloads with ``--no-deps``.

The same code builds a Linux wheelhouse (``target=LINUX``); the tests install that offline into
a fresh venv and run ``zhenggai demo`` from it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.parser import HeaderParser
from importlib import metadata
from pathlib import Path

from toolkit.core.errors import ToolkitError
from toolkit.jobs.launchers import VENV_PYTHON
from toolkit.jobs.result import JobResult

try:  # the maintainer's environment has it (pytest needs it); pip always carries a copy
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.tags import Tag, compatible_tags, cpython_tags
    from packaging.utils import canonicalize_name, parse_wheel_filename
except ImportError:  # pragma: no cover - depends on the environment
    from pip._vendor.packaging.markers import Marker
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.tags import Tag, compatible_tags, cpython_tags
    from pip._vendor.packaging.utils import canonicalize_name, parse_wheel_filename

__all__ = ["LINUX", "LOCK_FILE", "PYTHON_VERSIONS", "WINDOWS", "BundleDetails", "Pin", "Target", "missing_requirements",
           "configure_install", "read_lock", "render_install_cmd", "render_uninstall_cmd", "run_bundle", "update_lock",
           "write_user_xlwings_conf"]

PACKAGE = "zhenggai-toolkit"
LOCK_FILE = Path("requirements") / "windows-amd64.txt"
"""The lock, relative to the project folder (the one holding ``pyproject.toml``)."""
UPDATE_COMMAND = "zhenggai bundle --update-lock"
PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
"""CPython versions a staff PC may have: xlwings 0.37.8 and python-calamine need ≥ 3.11."""
VENV_DIR = r"%LOCALAPPDATA%\zhenggai\venv"
XLWINGS_KEY = "INTERPRETER_WIN"


@dataclass(frozen=True)
class Target:
    """A platform a wheelhouse is made for: pip's ``--platform`` values and the marker environment."""

    name: str
    platforms: tuple[str, ...]
    markers: dict[str, str]

    def environment(self, python_version: str) -> dict[str, str]:
        return {**self.markers, "python_version": python_version, "python_full_version": python_version + ".0",
                "implementation_version": python_version + ".0"}

    def tags(self, python_version: str) -> set[Tag]:
        """Wheel tags a CPython of ``python_version`` on this platform installs."""
        version = tuple(int(p) for p in python_version.split("."))
        return set(cpython_tags(version, platforms=self.platforms)) | set(
            compatible_tags(version, interpreter=f"cp{version[0]}{version[1]}", platforms=self.platforms))


_CPYTHON = {"implementation_name": "cpython", "platform_python_implementation": "CPython"}
WINDOWS = Target("windows", ("win_amd64",), {
    **_CPYTHON, "sys_platform": "win32", "platform_system": "Windows", "os_name": "nt", "platform_machine": "AMD64",
    "platform_release": "10", "platform_version": "10.0.19045"})
LINUX = Target("linux", (*(f"manylinux_2_{m}_x86_64" for m in range(28, 4, -1)), "manylinux2014_x86_64",
                         "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"), {
    **_CPYTHON, "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
    "platform_release": "", "platform_version": ""})
TARGETS = {t.name: t for t in (WINDOWS, LINUX)}


@dataclass(frozen=True)
class Pin:
    """One line of the lock: ``name==version`` and an optional environment marker."""

    name: str
    version: str
    marker: str = ""

    def line(self) -> str:
        return f"{self.name}=={self.version}" + (f" ; {self.marker}" if self.marker else "")

    def applies(self, target: Target, python_version: str) -> bool:
        return not self.marker or Marker(self.marker).evaluate(target.environment(python_version))


@dataclass
class BundleDetails:
    """What went into a bundle."""

    folder: Path
    target: str
    python_versions: tuple[str, ...]
    wheels: list[Path] = field(default_factory=list)
    project_wheel: Path | None = None
    size: int = 0


# ----------------------------------------------------------------------------- the lock

_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)\s*(?:;\s*(.+))?\Z")


def read_lock(path: str | Path) -> list[Pin]:
    """The pins of a lock file; a line that is not ``name==version [; marker]`` is refused (ToolkitError)."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ToolkitError(f"无法读取锁定文件 {path}（{exc.strerror}）：请在项目文件夹中运行，或用 --lock 指定。") from exc
    pins = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if match is None:
            raise ToolkitError(f"锁定文件 {path} 第 {number} 行不是“包名==版本”的形式：{raw.strip()}。"
                               f"每个包都必须锁定到一个版本；请运行 {UPDATE_COMMAND} 重新生成。")
        pins.append(Pin(match.group(1), match.group(2), (match.group(3) or "").strip()))
    if not pins:
        raise ToolkitError(f"锁定文件 {path} 是空的：请运行 {UPDATE_COMMAND} 重新生成。")
    return pins


def project_requirements(project: Path) -> list[Requirement]:
    """The ``[project] dependencies`` of ``project/pyproject.toml``."""
    data = tomllib.loads((project / "pyproject.toml").read_text("utf-8"))
    return [Requirement(r) for r in data["project"]["dependencies"]]


def project_version(project: Path) -> str:
    return tomllib.loads((project / "pyproject.toml").read_text("utf-8"))["project"]["version"]


def find_project(project: str | Path | None = None) -> Path:
    """The folder holding the project's ``pyproject.toml``: ``project``, else the source checkout of this package."""
    candidates = [Path(project)] if project else [Path(__file__).resolve().parents[2], Path.cwd()]
    for folder in candidates:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and f'name = "{PACKAGE}"' in pyproject.read_text("utf-8"):
            return folder
    raise ToolkitError("找不到本项目的源代码文件夹（含 pyproject.toml）：安装包只能在项目源代码中生成，"
                       "请在项目文件夹中运行，或用 --project 指定。")


# ----------------------------------------------------------------------------- wheels


@dataclass(frozen=True)
class _Wheel:
    path: Path
    name: str  # canonical
    version: str
    tags: frozenset[Tag]
    requires: tuple[Requirement, ...]


def _read_wheel(path: Path) -> _Wheel:
    name, version, _build, tags = parse_wheel_filename(path.name)
    with zipfile.ZipFile(path) as archive:
        meta = next(n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(archive.read(meta).decode("utf-8"))
    requires = tuple(Requirement(r) for r in headers.get_all("Requires-Dist") or [])
    return _Wheel(path, canonicalize_name(name), str(version), frozenset(tags), requires)


def _wheels(folder: Path) -> list[_Wheel]:
    return [_read_wheel(p) for p in sorted(folder.glob("*.whl"))]


def missing_requirements(wheelhouse: str | Path, roots: Iterable[Requirement], target: Target,
                         python_version: str) -> tuple[list[_Wheel], list[Requirement]]:
    """Walk the requirements from ``roots`` through the wheels in ``wheelhouse`` for one target and Python.

    Markers are evaluated for the target (with the extras each requirement asked for). Returns
    the wheels the walk reached and the requirements no installable wheel satisfies.
    """
    env = target.environment(python_version)
    supported = target.tags(python_version)
    by_name: dict[str, list[_Wheel]] = {}
    for wheel in _wheels(Path(wheelhouse)):
        if wheel.tags & supported:
            by_name.setdefault(wheel.name, []).append(wheel)
    reached: dict[str, _Wheel] = {}
    missing: list[Requirement] = []
    queue: list[tuple[Requirement, str]] = [(r, "") for r in roots]
    seen: set[tuple[str, str]] = set()
    while queue:
        req, extra = queue.pop(0)
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        match = next((w for w in by_name.get(name, []) if req.specifier.contains(w.version, prereleases=True)), None)
        if match is None:
            if str(req) not in {str(m) for m in missing}:
                missing.append(req)
            continue
        reached.setdefault(name, match)
        for wanted in ("", *sorted(req.extras)):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            queue += [(r, wanted) for r in match.requires]
    return list(reached.values()), missing


# ----------------------------------------------------------------------------- pip


def _pip(python: str, args: Sequence[str], what: str) -> None:
    command = [python, "-m", "pip", *args]
    done = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", errors="replace", check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-6:])
        raise ToolkitError(f"{what}失败（pip 退出码 {done.returncode}）：\n{tail}\n"
                           "请检查网络能否访问 PyPI，以及锁定文件中的版本是否有该平台的安装包。")


def _download(python: str, requirements: Sequence[str], target: Target, python_version: str, dest: Path,
              *, constraints: Path | None = None) -> None:
    """``pip download --no-deps`` of ``requirements`` as binary wheels for one target and Python version."""
    if not requirements:
        return
    with tempfile.TemporaryDirectory(prefix="zhenggai-req-") as tmp:
        req_file = Path(tmp) / "requirements.txt"
        req_file.write_text("\n".join(requirements) + "\n", "utf-8")
        args = ["download", "--no-deps", "--only-binary=:all:", "--implementation", "cp",
                "--python-version", python_version, "-d", str(dest), "-r", str(req_file), "--quiet"]
        for platform in target.platforms:
            args += ["--platform", platform]
        if constraints is not None:
            args += ["-c", str(constraints)]
        _pip(python, args, f"下载 {target.name} / Python {python_version} 的安装包")


def build_project_wheel(python: str, project: Path, dest: Path) -> Path:
    """``pip wheel --no-deps`` of the project into ``dest``; the wheel's path."""
    with tempfile.TemporaryDirectory(prefix="zhenggai-wheel-") as tmp:
        # Built from a copy: setuptools leaves build/ and *.egg-info in the folder it builds in.
        source = Path(tmp) / "source"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(project / name, source / name)
        shutil.copytree(project / "toolkit", source / "toolkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        out = Path(tmp) / "out"
        _pip(python, ["wheel", "--no-deps", "--quiet", "-w", str(out), str(source)], "打包本工具（pip wheel）")
        made = list(out.glob("*.whl"))
        if len(made) != 1:
            raise ToolkitError(f"打包本工具后应得到一个 .whl 文件，实际为 {len(made)} 个。")
        target = dest / made[0].name
        shutil.copy2(made[0], target)
    return target


# ----------------------------------------------------------------------------- the bundle


def run_bundle(folder: str | Path, *, project: str | Path | None = None, lock: str | Path | None = None,
               target: Target = WINDOWS, python_versions: Sequence[str] = PYTHON_VERSIONS,
               python: str | None = None) -> JobResult:
    """生成离线安装包: the wheelhouse of the lock for ``target``, the project's wheel, the scripts.

    ``folder`` must not exist or be empty (nothing is overwritten). The folder is assembled
    beside it and renamed into place at the end, so a failed run leaves nothing half-made.
    Raises ToolkitError when the lock is missing, unpinned or incomplete, or pip fails.
    """
    folder = Path(folder).resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ToolkitError(f"文件夹 {folder} 已存在且不是空的：安装包不会覆盖已有文件，请换一个新文件夹名。")
    project_dir = find_project(project)
    lock_path = Path(lock) if lock else project_dir / LOCK_FILE
    pins = read_lock(lock_path)
    python = python or sys.executable
    versions = tuple(python_versions)
    if not versions:
        raise ToolkitError("至少要指定一个 Python 版本（如 3.11）。")
    for version in versions:
        if version not in PYTHON_VERSIONS:
            raise ToolkitError(f"不支持 Python {version}：员工电脑须为 64 位 Python {'、'.join(PYTHON_VERSIONS)} 之一。")

    job = JobResult("bundle", "生成离线安装包")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=folder.name + ".part-", dir=folder.parent))
    try:
        wheelhouse = work / "wheelhouse"
        wheelhouse.mkdir()
        own = build_project_wheel(python, project_dir, wheelhouse)
        roots = [Requirement(f"{PACKAGE}=={project_version(project_dir)}")]
        for version in versions:
            wanted = [p.line().split(" ;")[0] for p in pins if p.applies(target, version)]
            _download(python, wanted, target, version, wheelhouse)
            _reached, missing = missing_requirements(wheelhouse, roots, target, version)
            if missing:
                raise ToolkitError(
                    f"锁定文件 {lock_path} 不完整：{target.name} / Python {version} 还需要 "
                    f"{'、'.join(str(m) for m in missing)}，请运行 {UPDATE_COMMAND} 重新生成锁定文件。")
        (work / "constraints.txt").write_text(
            f"# The versions this bundle installs (a copy of {LOCK_FILE.as_posix()}).\n"
            + "".join(p.line() + "\n" for p in pins), "utf-8")
        version = project_version(project_dir)
        _write_ascii(work / "install.cmd", render_install_cmd(version))
        _write_ascii(work / "uninstall.cmd", render_uninstall_cmd())
        (work / README_NAME).write_bytes(b"\xef\xbb\xbf" + render_readme(version, versions).replace("\n", "\r\n")
                                         .encode("utf-8"))
        if folder.exists():
            folder.rmdir()  # empty, checked above
        work.rename(folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    wheels = sorted((folder / "wheelhouse").glob("*.whl"))
    details = BundleDetails(folder, target.name, versions, wheels, folder / "wheelhouse" / own.name,
                            sum(w.stat().st_size for w in wheels))
    job.details = details
    job.add_written(folder, "离线安装包")
    job.notes.append(f"共 {len(wheels)} 个安装包（{details.size / 1e6:.0f} MB），适用于 {target.name} 64 位、"
                     f"Python {'/'.join(versions)}；版本取自 {lock_path.name}。")
    if target is WINDOWS:
        job.notes.append("把整个文件夹拷到员工电脑，双击 install.cmd（不需要管理员权限）；"
                         "可把 python-3.11.x-amd64.exe 放进该文件夹，install.cmd 会先为当前用户安装它。")
    return job


def _write_ascii(path: Path, text: str) -> None:
    assert text.isascii(), path
    path.write_bytes(text.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii"))


README_NAME = "安装说明.txt"

# The installer options for a per-user Python without any UAC prompt; see docs/staff-setup.md.
PYTHON_INSTALLER_OPTIONS = ("/passive InstallAllUsers=0 InstallLauncherAllUsers=0 Include_launcher=0 PrependPath=0 "
                            "AssociateFiles=0 Shortcuts=0 Include_doc=0 Include_test=0 Include_tcltk=0")


def render_install_cmd(version: str) -> str:
    """``install.cmd``: ASCII batch, no parenthesised blocks (paths with ``)`` stay safe)."""
    per_user = r"%LOCALAPPDATA%\Programs\Python\Python{v}\python.exe"
    lines = [
        "@echo off",
        f"rem zhenggai-toolkit {version}: offline install for the current user (no administrator rights).",
        "rem Generated by zhenggai bundle. Usage: install.cmd [full path of python.exe 3.11-3.13, 64-bit]",
        "setlocal",
        'set "HERE=%~dp0"',
        f'set "VENV={VENV_DIR}"',
        'set "PYEXE="',
        'set "LOG=%TEMP%\\zhenggai-install.log"',
        'if not "%~1"=="" set "PYEXE=%~1"',
        *(f'if not defined PYEXE if exist "{per_user.format(v=v)}" set "PYEXE={per_user.format(v=v)}"'
          for v in ("311", "312", "313")),
        'if defined PYEXE goto have_python',
        'set "PYSETUP="',
        'for %%F in ("%HERE%python-3.1*-amd64.exe") do set "PYSETUP=%%~fF"',
        "if not defined PYSETUP goto no_python",
        "echo [1/5] Installing Python for this user: %PYSETUP%",
        f'start "" /wait "%PYSETUP%" {PYTHON_INSTALLER_OPTIONS}',
        *(f'if not defined PYEXE if exist "{per_user.format(v=v)}" set "PYEXE={per_user.format(v=v)}"'
          for v in ("311", "312", "313")),
        "if not defined PYEXE goto no_python",
        ":have_python",
        'echo [1/5] Python: "%PYEXE%"',
        '"%PYEXE%" -c "import sys,struct; sys.exit(0 if (3,11)<=sys.version_info[:2]<=(3,13) and '
        "struct.calcsize('P')==8 and sys.implementation.name=='cpython' else 1)\" || goto bad_python",
        "echo [2/5] Creating %VENV%",
        'if exist "%VENV%\\Scripts\\python.exe" goto venv_ready',
        '"%PYEXE%" -m venv "%VENV%" || goto failed',
        ":venv_ready",
        "echo [3/5] Installing from %HERE%wheelhouse (offline)",
        '"%VENV%\\Scripts\\python.exe" -m pip install --no-index --find-links "%HERE%wheelhouse" '
        f'-c "%HERE%constraints.txt" --upgrade --disable-pip-version-check --no-warn-script-location '
        f'"{PACKAGE}=={version}" || goto failed',
        "echo [4/5] Checking the installation",
        '"%VENV%\\Scripts\\python.exe" -c "import importlib.metadata as m, toolkit.macros, xlwings; '
        f"print('{PACKAGE}', m.version('{PACKAGE}'), 'xlwings', xlwings.__version__)\" || goto failed",
        'set "CHECKDIR=%TEMP%\\zhenggai-install-check"',
        'if exist "%CHECKDIR%" rmdir /s /q "%CHECKDIR%"',
        'mkdir "%CHECKDIR%"',
        '"%VENV%\\Scripts\\zhenggai.exe" init "%CHECKDIR%\\demo.xlsx" --demo >nul || goto failed',
        '"%VENV%\\Scripts\\zhenggai.exe" check "%CHECKDIR%\\demo.xlsx" || goto failed',
        'rmdir /s /q "%CHECKDIR%"',
        "echo [5/5] Writing %USERPROFILE%\\.xlwings\\xlwings.conf (Interpreter_Win) and the click-path hook",
        '"%VENV%\\Scripts\\python.exe" -c "from toolkit.jobs.bundle import configure_install as c; c()" '
        "|| goto failed",
        "echo.",
        f"echo OK: zhenggai-toolkit {version} is installed in %VENV%",
        "echo Excel buttons use Interpreter_Win = %%LOCALAPPDATA%%\\zhenggai\\venv\\Scripts\\python.exe",
        "goto done",
        ":no_python",
        "echo.",
        "echo [zhenggai] No 64-bit Python 3.11-3.13 was found for this user.",
        "echo Put python-3.11.x-amd64.exe (from python.org) beside install.cmd and run it again,",
        "echo or run:  install.cmd \"C:\\full\\path\\to\\python.exe\"",
        "set \"RC=9009\"",
        "goto finish",
        ":bad_python",
        "echo.",
        'echo [zhenggai] "%PYEXE%" is not a 64-bit CPython 3.11-3.13 (see docs\\staff-setup.md).',
        "set \"RC=9009\"",
        "goto finish",
        ":failed",
        "set \"RC=%ERRORLEVEL%\"",
        "echo.",
        "echo [zhenggai] Installation FAILED (exit code %RC%). Nothing outside %VENV% was changed.",
        "echo Send a screenshot of this window to the maintainer.",
        "goto finish",
        ":done",
        "set \"RC=0\"",
        ":finish",
        "echo.",
        "if not defined ZHENGGAI_NO_PAUSE pause",
        "exit /b %RC%",
    ]
    return "\r\n".join(lines) + "\r\n"


def render_uninstall_cmd() -> str:
    """``uninstall.cmd``: removes our xlwings.conf line, then the venv; keeps logs and ledgers."""
    lines = [
        "@echo off",
        "rem zhenggai-toolkit: remove the per-user installation (ledgers, backups and logs are kept).",
        "setlocal",
        f'set "VENV={VENV_DIR}"',
        'if not exist "%VENV%\\Scripts\\python.exe" goto no_venv',
        '"%VENV%\\Scripts\\python.exe" -c "from toolkit.jobs.bundle import write_user_xlwings_conf as w; '
        'w(remove=True)"',
        ":no_venv",
        'if exist "%VENV%" rmdir /s /q "%VENV%"',
        'if exist "%VENV%" goto busy',
        "echo zhenggai-toolkit was removed from %VENV%.",
        "set \"RC=0\"",
        "goto finish",
        ":busy",
        "echo [zhenggai] %VENV% could not be removed completely: close Excel and every zhenggai window, then run again.",
        "set \"RC=1\"",
        ":finish",
        "if not defined ZHENGGAI_NO_PAUSE pause",
        "exit /b %RC%",
    ]
    return "\r\n".join(lines) + "\r\n"


def render_readme(version: str, python_versions: Sequence[str]) -> str:
    return "\n".join([
        f"整改台账工具（zhenggai-toolkit {version}）离线安装包",
        "",
        "适用：64 位 Windows 8.1 / 10 / 11；64 位 Python " + "、".join(python_versions) + "。不需要联网，不需要管理员权限。",
        "",
        "安装：",
        "1. 把整个文件夹拷到员工电脑（路径中可以有中文）。",
        "2. 如果这台电脑还没有 Python：把 python.org 下载的 python-3.11.x-amd64.exe 放进本文件夹，",
        "   install.cmd 会先为当前用户安装它（不勾选“为所有用户安装”和 py 启动器，不需要管理员权限）。",
        "3. 双击 install.cmd。它会：",
        "   - 在 %LOCALAPPDATA%\\zhenggai\\venv 建立工具专用的 Python 环境；",
        "   - 只从本文件夹的 wheelhouse 安装（--no-index），版本与 constraints.txt 完全一致；",
        "   - 显示版本号，并用示例台账做一次校验，应显示“未发现问题”；",
        "   - 写入 %USERPROFILE%\\.xlwings\\xlwings.conf，让 Excel 按钮找到 Python",
        "     （写的是 %LOCALAPPDATA%，不是具体路径，用户名是中文也没有问题）。",
        "4. 窗口最后显示 OK 即安装成功；显示 FAILED 时请截图发给维护人员。",
        "",
        "卸载：双击 uninstall.cmd（台账、备份和日志不会被删除）。",
        "",
        "启用台账中的宏、WPS 的用法、第一次在真实电脑上要检查的项目：见项目中的 docs/staff-setup.md。",
        "",
    ])


def configure_install() -> None:
    """What install.cmd runs last inside the new venv: the per-user xlwings.conf and the click-path hook."""
    from toolkit.excel.vba.clickpath import write_click_hook

    print(write_user_xlwings_conf())
    print(write_click_hook())


def write_user_xlwings_conf(*, remove: bool = False, path: str | Path | None = None) -> Path:
    """Set ``INTERPRETER_WIN`` in the per-user ``xlwings.conf`` to the venv's python.exe, as ``%LOCALAPPDATA%\\…``.

    xlwings' VBA (``GetConfig``) passes every value it reads through ``WScript.Shell``'s
    ``ExpandEnvironmentStrings``, so the variable is expanded on each click; the file stays ASCII
    whatever the user's name (VBA reads it in the ANSI code page with ``Input #``). Other
    settings in the file are kept byte for byte; ``remove`` drops only our line.
    """
    if path is None:
        home = os.environ.get("USERPROFILE") or str(Path.home())
        path = Path(home) / ".xlwings" / "xlwings.conf"
    path = Path(path)
    old = path.read_bytes().splitlines() if path.exists() else []
    kept = [line for line in old if not line.strip().strip(b'"').lower().startswith(XLWINGS_KEY.lower().encode())]
    if not remove:
        kept.append(f'"{XLWINGS_KEY}","{VENV_PYTHON}"'.encode("ascii"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\r\n" for line in kept))
    return path


# ----------------------------------------------------------------------------- the lock, regenerated


def update_lock(*, project: str | Path | None = None, lock: str | Path | None = None,
                python_versions: Sequence[str] = PYTHON_VERSIONS, targets: Sequence[Target] = (WINDOWS, LINUX),
                python: str | None = None) -> JobResult:
    """更新锁定文件: resolve the dependencies for every target and Python version and pin them.

    Versions installed in the running environment are preferred (they are the ones the tests
    ran with); pip chooses for the rest. A package needed on one platform only gets a marker.
    """
    project_dir = find_project(project)
    lock_path = Path(lock) if lock else project_dir / LOCK_FILE
    python = python or sys.executable
    roots = project_requirements(project_dir)
    preferred = _installed_versions()
    chosen: dict[str, str] = {}  # canonical name -> version, shared by all targets
    needed: dict[str, set[tuple[str, str]]] = {}  # canonical name -> {(target, python)}
    names: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="zhenggai-lock-") as tmp:
        for target in targets:
            for version in python_versions:
                house = Path(tmp) / f"{target.name}-{version}"
                house.mkdir()
                for _round in range(30):
                    reached, missing = missing_requirements(house, roots, target, version)
                    if not missing:
                        break
                    wanted = [_without_marker(m) for m in missing]
                    constraints = Path(tmp) / "constraints.txt"
                    try:  # the tested versions first; where one has no wheel for this target, pip's choice
                        constraints.write_text("".join(f"{n}=={v}\n" for n, v in {**preferred, **chosen}.items()))
                        _download(python, wanted, target, version, house, constraints=constraints)
                    except ToolkitError:
                        constraints.write_text("".join(f"{n}=={v}\n" for n, v in chosen.items()))
                        _download(python, wanted, target, version, house, constraints=constraints)
                    for wheel in _wheels(house):
                        chosen.setdefault(wheel.name, wheel.version)
                else:
                    raise ToolkitError("依赖关系无法在 30 轮内解析完：请检查 pyproject.toml。")
                for wheel in reached:
                    needed.setdefault(wheel.name, set()).add((target.name, version))
                    names.setdefault(wheel.name, wheel.path.name.split("-")[0].replace("_", "-"))
    everywhere = {(t.name, v) for t in targets for v in python_versions}
    pins = []
    for name in sorted(needed):
        if name == canonicalize_name(PACKAGE):
            continue
        pins.append(Pin(names[name], chosen[name], _marker(needed[name], everywhere, targets, python_versions)))
    lines = [
        "# zhenggai-toolkit: every package a staff PC installs, pinned (zhenggai bundle reads this file).",
        f"# Resolved for CPython {', '.join(python_versions)} on {', '.join(t.name for t in targets)} (64-bit),",
        "# preferring the versions installed where the tests ran. Do not edit by hand; regenerate with:",
        f"#   {UPDATE_COMMAND}",
        *(p.line() for p in pins),
    ]
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path.write_text("\n".join(lines) + "\n", "utf-8")
    job = JobResult("update-lock", "更新锁定文件")
    job.add_written(lock_path, "锁定文件")
    job.details = pins
    job.notes.append(f"锁定 {len(pins)} 个包；请运行测试（含 tests/test_bundle.py）后再提交。")
    return job


def _without_marker(req: Requirement) -> str:
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{req.name}{extras}{req.specifier}"


def _installed_versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"] or "")
        if name and name != canonicalize_name(PACKAGE):
            found[name] = dist.version
    return found


def _marker(where: set[tuple[str, str]], everywhere: set[tuple[str, str]], targets: Sequence[Target],
            python_versions: Sequence[str]) -> str:
    """The environment marker that holds exactly on the (platform, Python) pairs in ``where``."""
    if where == everywhere:
        return ""

    def platform(name: str) -> str:
        return f'sys_platform == "{TARGETS[name].markers["sys_platform"]}"'

    platforms = sorted({t for t, _ in where})
    pythons = sorted({v for _, v in where})
    if where != {(t, v) for t in platforms for v in pythons}:
        return " or ".join(f'({platform(t)} and python_version == "{v}")' for t, v in sorted(where))
    parts = []
    if len(platforms) < len(targets):
        parts.append(" or ".join(platform(t) for t in platforms))
    if len(pythons) < len(python_versions):
        parts.append(" or ".join(f'python_version == "{v}"' for v in pythons))
    return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)

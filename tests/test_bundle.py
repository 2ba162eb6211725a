"""``zhenggai bundle``: the pinned lock, the offline wheelhouse, install.cmd / uninstall.cmd, xlwings.conf.

The slow tests download from PyPI (skipped without network locally, failed under CI=true): the
Windows bundle builds for real; a Linux bundle made by the same code (``target=LINUX``) installs
with ``pip --isolated install --no-index`` into a fresh venv, which then runs ``zhenggai demo``.
What only a Windows PC can show (install.cmd itself, the per-user Python installer) is listed
in docs/staff-setup.md.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import _not_met
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.core.errors import ToolkitError
from toolkit.jobs import bundle
from toolkit.jobs.bundle import LINUX, WINDOWS, Pin, missing_requirements, read_lock, run_bundle

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / bundle.LOCK_FILE


def _require_pypi() -> None:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError as exc:
        _not_met(f"PyPI is not reachable ({exc}): the bundle downloads wheels")


# ----------------------------------------------------------------------------- the lock


def test_lock_pins_every_dependency_of_pyproject_with_an_allowed_version():
    pins = {bundle.canonicalize_name(p.name): p for p in read_lock(LOCK)}
    for req in bundle.project_requirements(ROOT):
        pin = pins.get(bundle.canonicalize_name(req.name))
        assert pin is not None, f"{req.name} is a dependency but not in {bundle.LOCK_FILE}"
        assert req.specifier.contains(pin.version, prereleases=True), f"{pin.line()} does not satisfy {req}"


def test_lock_gives_windows_only_packages_a_marker():
    pins = {bundle.canonicalize_name(p.name): p for p in read_lock(LOCK)}
    assert pins["pywin32"].applies(WINDOWS, "3.11") and not pins["pywin32"].applies(LINUX, "3.11")
    assert pins["pandas"].applies(WINDOWS, "3.13") and pins["pandas"].applies(LINUX, "3.11")


def test_unpinned_lock_line_is_refused_with_its_line_number(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text("# header\nnumpy==2.4.6\npandas>=2.2\n", "utf-8")
    with pytest.raises(ToolkitError, match="第 3 行.*pandas>=2.2.*--update-lock"):
        read_lock(lock)


def test_lock_marker_is_evaluated_for_the_target_not_for_this_machine():
    pin = Pin("colorama", "0.4.6", 'sys_platform == "win32"')
    assert pin.applies(WINDOWS, "3.12")
    assert not pin.applies(LINUX, "3.12")


# ----------------------------------------------------------------------------- the wheelhouse check


def _wheel(folder: Path, name: str, version: str, requires: list[str], tag: str = "py3-none-any") -> None:
    dist = f"{name}-{version}"
    with zipfile.ZipFile(folder / f"{dist}-{tag}.whl", "w") as z:
        meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
        z.writestr(f"{dist}.dist-info/METADATA", meta)


def test_wheelhouse_check_follows_target_markers_extras_and_tags(tmp_path):
    _wheel(tmp_path, "app", "1.0", ['winonly>=1 ; sys_platform == "win32"', "lib[fast]==2.0", 'old ; python_version < "3.11"'])
    _wheel(tmp_path, "lib", "2.0", ['speed ; extra == "fast"', 'unused ; extra == "slow"'])
    _wheel(tmp_path, "speed", "1.0", [], tag="cp311-cp311-win_amd64")
    roots = [bundle.Requirement("app==1.0")]

    reached, missing = missing_requirements(tmp_path, roots, WINDOWS, "3.11")
    assert sorted(w.name for w in reached) == ["app", "lib", "speed"]
    assert [str(m) for m in missing] == ['winonly>=1; sys_platform == "win32"']

    # On Python 3.12 the cp311 wheel of speed does not install; on Linux neither does it, and winonly is not needed.
    assert [m.name for m in missing_requirements(tmp_path, roots, WINDOWS, "3.12")[1]] == ["winonly", "speed"]
    assert [m.name for m in missing_requirements(tmp_path, roots, LINUX, "3.11")[1]] == ["speed"]


# ----------------------------------------------------------------------------- scripts


def test_install_cmd_is_ascii_and_installs_per_user_offline_from_the_bundle():
    text = bundle.render_install_cmd("0.1.0")
    assert text.isascii() and text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert 'set "VENV=%LOCALAPPDATA%\\zhenggai\\venv"' in text
    install = next(line for line in text.splitlines() if " -m pip install " in line)
    assert install.startswith('"%VENV%\\Scripts\\python.exe" -m pip install --no-index --find-links "%HERE%wheelhouse"')
    assert '-c "%HERE%constraints.txt"' in install and '"zhenggai-toolkit==0.1.0"' in install
    # Never a bare python (the Microsoft Store stub) and no all-users / admin options.
    assert not any(line.lstrip().startswith(("python ", "py ", "pip ")) for line in text.splitlines())
    assert "InstallAllUsers=0" in text and "InstallLauncherAllUsers=0" in text and "Include_launcher=0" in text
    assert "zhenggai.exe\" check" in text and "configure_install" in text
    # No parenthesised blocks: a ")" in a user's path would end them early.
    assert not any(line.rstrip().endswith("(") for line in text.splitlines())


def test_uninstall_cmd_removes_our_setting_before_the_venv():
    text = bundle.render_uninstall_cmd()
    assert text.isascii()
    assert text.index("w(remove=True)") < text.index('rmdir /s /q "%VENV%"')


def test_user_xlwings_conf_gets_localappdata_and_keeps_other_settings(tmp_path):
    conf = tmp_path / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir()
    other = '"PYTHONPATH","D:\\整改 工具"'.encode("gbk")  # written by someone else in the ANSI code page
    conf.write_bytes(b'"INTERPRETER_WIN","C:\\old\\python.exe"\r\n' + other + b"\r\n")

    bundle.write_user_xlwings_conf(path=conf)
    lines = conf.read_bytes().split(b"\r\n")
    assert lines == [other, b'"INTERPRETER_WIN","%LOCALAPPDATA%\\zhenggai\\venv\\Scripts\\python.exe"', b""]

    bundle.write_user_xlwings_conf(path=conf, remove=True)
    assert conf.read_bytes() == other + b"\r\n"


def test_bundle_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(ToolkitError, match="不是空的"):
        run_bundle(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_bundle_command_without_folder_exits_2_with_chinese_message():
    result = CliRunner().invoke(app, ["bundle"])
    assert result.exit_code == 2
    assert "请指定输出文件夹" in result.output


# ----------------------------------------------------------------------------- real downloads (slow)


@pytest.mark.slow
def test_windows_bundle_builds_with_every_locked_wheel_for_win_amd64(tmp_path):
    _require_pypi()
    folder = tmp_path / "安装包"
    result = run_bundle(folder, python_versions=("3.11",))
    names = sorted(p.name for p in (folder / "wheelhouse").iterdir())
    locked = [p for p in read_lock(LOCK) if p.applies(WINDOWS, "3.11")]
    assert len(names) == len(locked) + 1  # + the project's own wheel
    assert any(n.startswith("pywin32-") and n.endswith("cp311-cp311-win_amd64.whl") for n in names)
    assert any(n.startswith("colorama-") for n in names)
    assert result.details.project_wheel.name.startswith("zhenggai_toolkit-")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["wheelhouse", "constraints.txt", "install.cmd", "uninstall.cmd", "安装说明.txt"])
    readme = (folder / "安装说明.txt").read_bytes()
    assert readme.startswith(b"\xef\xbb\xbf") and "离线安装包" in readme.decode("utf-8-sig")
    assert (folder / "install.cmd").read_bytes().isascii()


@pytest.mark.slow
def test_linux_bundle_from_the_same_lock_installs_offline_and_runs_demo(tmp_path):
    _require_pypi()
    started = time.perf_counter()
    folder = tmp_path / "bundle"
    run_bundle(folder, target=LINUX, python_versions=(f"{sys.version_info[0]}.{sys.version_info[1]}",))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME") and not k.startswith("PIP_")}
    venv = tmp_path / "fresh venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    # --isolated: no pip configuration or PIP_* variables (no extra find-links); --no-index: no network.
    install = subprocess.run(
        [str(python), "-m", "pip", "--isolated", "install", "--no-index", "--find-links", str(folder / "wheelhouse"),
         "-c", str(folder / "constraints.txt"), f"zhenggai-toolkit=={version}"],
        capture_output=True, text=True, check=False, env=env)
    assert install.returncode == 0, install.stderr[-2000:]
    freeze = subprocess.run([str(python), "-m", "pip", "--isolated", "freeze"], capture_output=True, text=True, check=True,
                            env=env)
    installed = {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
                 for line in freeze.stdout.splitlines() if "==" in line}
    assert installed.get("zhenggai-toolkit") == version
    for pin in read_lock(LOCK):
        if pin.applies(LINUX, f"{sys.version_info[0]}.{sys.version_info[1]}"):
            assert installed.get(pin.name.lower()) == pin.version, pin.line()

    # The last step of install.cmd, in the new venv: the click-path hook works through site at start-up.
    subprocess.run([str(python), "-c", "from toolkit.excel.vba.clickpath import write_click_hook; write_click_hook()"],
                   check=True, env=env)
    probe = "import sys, xlwings; print('pandas' in sys.modules)"
    clicked = subprocess.run([str(python), "-c", probe, "--from_xl=1"], capture_output=True, text=True, env=env)
    assert clicked.stdout.strip() == "False", clicked.stderr
    assert subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=env).stdout.strip() == "True"

    out = tmp_path / "演示 输出"
    demo = subprocess.run([str(venv / "bin" / "zhenggai"), "demo", str(out)], capture_output=True, text=True,
                          cwd=tmp_path, check=False, env=env)
    assert demo.returncode in (0, 1) and "Traceback" not in demo.stderr, demo.stderr[-2000:]  # 1: county files rejected
    assert (out / "示例台账.xlsx").is_file()
    assert list(out.glob("通报_*.docx"))
    print(f"\nlinux bundle + offline install + demo: {time.perf_counter() - started:.0f} s")

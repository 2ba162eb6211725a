"""Set-up commands: ``zhenggai bundle`` (the offline installation folder for staff PCs, and its lock)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli.common import console, fail, print_lines, run_job
from toolkit.jobs.summary import summary_lines


def bundle(
    folder: Annotated[Path | None, typer.Argument(help="输出文件夹（须不存在或为空；安装包不覆盖任何文件）")] = None,
    python_version: Annotated[
        list[str] | None,
        typer.Option("--python-version", help="员工电脑的 Python 版本，可重复（默认 3.11、3.12、3.13 都带上）"),
    ] = None,
    lock: Annotated[Path | None, typer.Option("--lock", help="锁定文件（默认项目中的 requirements/windows-amd64.txt）")] = None,
    update_lock: Annotated[
        bool, typer.Option("--update-lock", help="维护人员用：重新解析依赖并改写锁定文件（需联网），不生成安装包")
    ] = False,
) -> None:
    """生成员工电脑（64 位 Windows）的离线安装包：按锁定文件下载全部安装包，附 install.cmd、uninstall.cmd 和安装说明。"""
    from toolkit.jobs import bundle as jobs_bundle

    versions = tuple(python_version) if python_version else jobs_bundle.PYTHON_VERSIONS
    if update_lock:
        run_job("更新锁定文件", lambda: jobs_bundle.update_lock(lock=lock, python_versions=versions),
                lambda job: print_lines(console(), summary_lines(job)))
    if folder is None:
        fail("请指定输出文件夹，例如：zhenggai bundle D:\\整改安装包（或用 --update-lock 更新锁定文件）。")
    run_job("生成离线安装包", lambda: jobs_bundle.run_bundle(folder, lock=lock, python_versions=versions),
            lambda job: print_lines(console(), summary_lines(job)))

"""The button click path without pandas: a one-line ``.pth`` hook for the toolkit's own venv.

Each click runs ``python -B -c "import xlwings.utils; …; import toolkit.macros as m; m.…()" --wb=…
--from_xl=1 …`` (xlwings' ``RunPython``). ``import xlwings`` imports pandas and numpy when they
are installed (``try: import pandas as pd except ImportError: pd = None`` in its conversion,
``_xlwindows`` and ``main`` modules): about 0.5 s of every click, before any toolkit code runs,
and no toolkit code can intervene — xlwings is imported first. The buttons never hand pandas or
numpy objects to xlwings (``toolkit.excel.live`` reads and writes plain lists), and xlwings is
written to work without them (they are optional dependencies of xlwings).

So ``install.cmd`` puts :data:`PTH_NAME` into the venv's ``site-packages``. Python runs its one
``import`` line at start-up; it does nothing unless the process was started by RunPython
(``--from_xl=1`` in ``sys.orig_argv``). Then it installs a finder that makes ``import pandas`` /
``import numpy`` fail *only when the importing module is part of xlwings*; the toolkit (and
a later job that needs pandas, such as the board) still imports pandas normally. Other uses of
the venv (the ``zhenggai`` command, the ``.cmd`` launchers) are untouched.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

PTH_NAME = "zhenggai-click-path.pth"

HOOK_SOURCE = (
    "import sys\n"
    "class _ZhenggaiNoPandasForXlwings:\n"
    "    blocked = ('pandas', 'numpy')\n"
    "    @classmethod\n"
    "    def find_spec(cls, name, path=None, target=None):\n"
    "        if name.partition('.')[0] not in cls.blocked:\n"
    "            return None\n"
    "        frame = sys._getframe(1)\n"
    "        while frame is not None and frame.f_globals.get('__name__', '').startswith(('importlib', '_frozen_importlib')):\n"
    "            frame = frame.f_back\n"
    "        importer = frame.f_globals.get('__name__', '') if frame is not None else ''\n"
    "        if importer == 'xlwings' or importer.startswith('xlwings.'):\n"
    "            raise ModuleNotFoundError(f'{name} is kept off the button click path', name=name)\n"
    "        return None\n"
    "if '--from_xl=1' in getattr(sys, 'orig_argv', sys.argv):\n"
    "    sys.meta_path.insert(0, _ZhenggaiNoPandasForXlwings)\n"
)
"""What the ``.pth`` line executes (Python's ``site`` runs a ``.pth`` line that starts with ``import``)."""


def pth_text() -> str:
    """The ``.pth`` file: one line, ``import sys; exec(<HOOK_SOURCE>)``."""
    return f"import sys; exec({HOOK_SOURCE!r})\n"


def write_click_hook(site_packages: str | Path | None = None) -> Path:
    """Write :data:`PTH_NAME` into ``site_packages`` (default: this interpreter's purelib); its path."""
    folder = Path(site_packages) if site_packages else Path(sysconfig.get_paths()["purelib"])
    path = folder / PTH_NAME
    path.write_text(pth_text(), encoding="ascii")
    return path

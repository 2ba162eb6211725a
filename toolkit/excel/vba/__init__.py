"""VBA source text of the macro-enabled ledger (package data, not Python code).

- ``LedgerButtons.bas``: one Sub per button, rendered from ``toolkit.excel.vba.project.MACROS``
  (``python -m toolkit.excel.vba.project`` rewrites it; a test fails when the two drift apart).
- ``xlwings.bas``, ``Dictionary.cls``: the xlwings standalone VBA, copied unchanged from
  the installed xlwings package (``xlwings/xlwings.bas``, ``xlwings/addin/Dictionary.cls``)
  so the workbook needs no add-in. Recopy them when xlwings is upgraded.

All files are ASCII with CRLF line ends: VBA stores source in the project's code page.
"""

from toolkit.excel.vba.project import *  # noqa: E402,F403  the writer, re-exported as toolkit.excel.vba

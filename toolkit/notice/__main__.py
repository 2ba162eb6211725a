"""``python -m toolkit.notice [目录]``: rebuild the Word templates (default: word_templates/)."""

from __future__ import annotations

import sys
from pathlib import Path

from toolkit.notice.template_build import REPO_TEMPLATES, build_templates


def main(argv: list[str] | None = None) -> int:
    """Write both templates and print where they went."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else REPO_TEMPLATES
    for written in build_templates(target):
        print(f"已生成模板：{written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

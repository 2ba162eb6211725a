"""Every command has Chinese help (itself and each of its options/arguments), imports cleanly,
and has a row in the README's command table; every row of that table names a real command.

Commands are walked from ``toolkit.cli.commands`` itself (sub-groups included), so a command added
later is covered without touching this file.
"""

import re
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from toolkit.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
CJK = re.compile(r"[\u4e00-\u9fff]")


def walk(command, path: tuple[str, ...] = ()) -> dict:
    """Every leaf command under ``command`` by its words after ``zhenggai`` (("check",), ("x", "y")).

    Duck-typed on ``.commands``: typer ships its own copy of click, whose Group is not click.Group.
    """
    if not hasattr(command, "commands"):
        return {path: command}
    found = {}
    for name, sub in command.commands.items():
        if not sub.hidden:
            found.update(walk(sub, (*path, name)))
    return found


COMMANDS = walk(get_command(app))
NAMES = sorted(" ".join(p) for p in COMMANDS)


def readme_command_table() -> list[str]:
    """First cells of the table under '## Commands', e.g. '`zhenggai check LEDGER [--today YYYY-MM-DD] [--json]`'."""
    section = README.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `zhenggai ")]
    return [row.split("|")[1].strip().strip("`") for row in rows]


TABLE = readme_command_table()


def table_command(cell: str) -> str:
    """The command words of a table cell: 'zhenggai notice --lint-template T' → 'notice'."""
    words = cell.split()[1:]
    names = []
    for word in words:
        if word.isupper() or word.startswith(("-", "[")):
            break
        names.append(word)
    return " ".join(names)


def test_commands_are_found():
    assert {
        "check",
        "status",
        "init",
        "demo",
        "notice",
        "reminders",
        "launchers",
        "county-templates",
        "consolidate",
    } <= set(NAMES)
    assert len(TABLE) >= len(NAMES)  # the table parser found the table


@pytest.mark.parametrize("name", NAMES)
def test_command_has_chinese_help(name):
    result = CliRunner().invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    command = COMMANDS[tuple(name.split())]
    assert command.help and CJK.search(command.help), f"zhenggai {name}: no Chinese help text (docstring)"


@pytest.mark.parametrize("name", NAMES)
def test_every_option_and_argument_has_chinese_help(name):
    command = COMMANDS[tuple(name.split())]
    missing = [p.name for p in command.params if not p.hidden if not (getattr(p, "help", None) and CJK.search(p.help))]
    assert missing == [], f"zhenggai {name}: parameters without Chinese help: {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_command_is_in_readme_command_table(name):
    assert name in {table_command(cell) for cell in TABLE}, f"README's command table has no row for zhenggai {name}"


@pytest.mark.parametrize("cell", TABLE)
def test_readme_table_rows_name_real_commands_and_options(cell):
    name = table_command(cell)
    assert tuple(name.split()) in COMMANDS, f"README lists `{cell}` but there is no command zhenggai {name}"
    options = {opt for p in COMMANDS[tuple(name.split())].params for opt in p.opts}
    listed = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", cell))
    assert listed <= options, f"README lists options the command does not have: {sorted(listed - options)}"

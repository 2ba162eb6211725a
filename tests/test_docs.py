"""Every command has help text, imports cleanly, and is documented in the README."""

from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from toolkit.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
COMMANDS = sorted(get_command(app).commands)


def test_there_are_commands():
    assert {"check", "status", "init", "demo", "notice", "reminders", "launchers"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_chinese_help(name):
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    command = get_command(app).commands[name]
    assert command.help and any("\u4e00" <= ch <= "\u9fff" for ch in command.help)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_in_readme(name):
    assert f"zhenggai {name}" in README

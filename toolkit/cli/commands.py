"""The ``zhenggai`` command: each command parses its options, calls one job, renders its result.

Exit codes: 0 done; 1 the ledger has errors or some county files were rejected; 2 the input
cannot be used (nothing changed); 3 internal error (one Chinese line; traceback in the log file).
"""

from __future__ import annotations

import sys

import click
import typer

from toolkit.cli import adopt, board, counties, documents, ledger, setup
from toolkit.cli.render import render_issues, render_status, result_json  # noqa: F401  (re-exported)
from toolkit.jobs.result import EXIT_INTERNAL, EXIT_UNUSABLE
from toolkit.jobs.runner import configure_streams

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="整改台账工具：校验台账、计算整改状态、写回台账、生成通报和县区报送表。"
    "退出码：0 完成；1 台账有错误或有报送文件被退回；2 输入无法使用（未做任何修改）；3 程序内部错误（详情见日志）。",
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("adopt")(adopt.adopt)
app.command("check")(ledger.check)
app.command("status")(ledger.status)
app.command("init")(ledger.init)
app.command("demo")(ledger.demo)
app.command("notice")(documents.notice)
app.command("reminders")(documents.reminders)
app.command("county-templates")(counties.county_templates)
app.command("consolidate")(counties.consolidate)
app.command("launchers")(ledger.launchers)
app.command("board")(board.board)
app.command("bundle")(setup.bundle)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: safe streams, and no traceback on screen whatever happens."""
    configure_streams()
    try:
        code = app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        sys.stderr.write("已取消。\n")
        code = EXIT_UNUSABLE
    except click.exceptions.ClickException as exc:
        exc.show()
        code = EXIT_UNUSABLE
    except Exception as exc:  # noqa: BLE001 - last resort: the jobs already turn their errors into codes
        from toolkit.jobs.crashlog import log_internal_error
        from toolkit.jobs.summary import internal_error_lines

        log = log_internal_error("zhenggai", exc, argv=sys.argv[1:])
        sys.stderr.write("\n".join(internal_error_lines("运行 zhenggai", exc, log)) + "\n")
        code = EXIT_INTERNAL
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()

"""Command-line front door.

``resnet-desktop`` with no command starts the GUI (with ``--model``, ``--weights``, ``--device``,
``--color-scheme`` and PATHs to open); sub-commands run headless. Each command lives
in its own module of this package with ``add_parser(subparsers)`` (which sets ``func``), so this
file only dispatches. Heavy imports happen inside the commands, keeping ``--help`` instant.

A command returns an exit code (``common.Exit``) or raises one of the core's typed errors, which
is printed here in the one error format (``resnet-desktop COMMAND: error: MESSAGE``).
"""

from __future__ import annotations

import argparse
import logging
import sys

from resnet_desktop import __version__
from resnet_desktop.cli import (
    bench,
    classify,
    duplicates,
    evaluate,
    explain,
    export,
    finetune,
    labels,
    library,
    organize,
    review,
    similar,
    teach,
)
from resnet_desktop.cli.common import Exit, error, exit_code_for, stdout_closed

COMMANDS = (
    classify,
    explain,
    finetune,
    evaluate,
    bench,
    organize,
    export,
    similar,
    duplicates,
    labels,
    teach,
    review,
    library,
)

#: Options of the desktop app (no command) that take a value.
GUI_VALUE_OPTIONS = ("--model", "--arch", "--weights", "--device", "--color-scheme")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resnet-desktop",
        description="Classify, inspect and re-train ResNet image classifiers. "
        "Without a command, starts the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--self-test", action="store_true", help="run a headless self-test and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    app = parser.add_argument_group(
        "desktop app (no command)",
        "resnet-desktop [--model ARCH] [--weights NAME|FILE] [--device DEV] [--color-scheme S] [PATH ...] "
        "starts the app with that model and classifies the PATHs (images or folders).",
    )
    app.add_argument("--model", "--arch", dest="gui_arch", metavar="ARCH", help="architecture, e.g. resnet18")
    app.add_argument("--weights", dest="gui_weights", metavar="NAME|FILE", help="weights name, 'random' or a file")
    app.add_argument("--device", dest="gui_device", metavar="DEV", help="auto, cpu, cuda:N or mps")
    app.add_argument(
        "--color-scheme", dest="gui_scheme", choices=("system", "auto", "light", "dark"), help="for this run"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def _opens_paths(argv: list[str], commands: set[str]) -> bool:
    """True when the first word that is not an option (or an option's value) is a PATH, not a command."""
    if any(token in ("-h", "--help", "--version", "--self-test") for token in argv):
        return False
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token == "--":
            return True
        elif token.startswith("-"):
            skip = token in GUI_VALUE_OPTIONS
        else:
            return token not in commands
    return False


def main(argv: list[str] | None = None) -> int:
    own_process = argv is None  # the process's own command line (not a test calling main)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if _opens_paths(argv, _command_names(parser)):
        return _start_gui(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.self_test:
        from resnet_desktop.selftest import run_self_test

        return Exit.OK if run_self_test() else Exit.SOME_FAILED
    if args.command is None:
        return _start_gui(argv)
    args.own_process = own_process
    return run_command(args)


def _start_gui(argv: list[str]) -> int:
    """The app parses the same options (and leaves unknown ones such as ``-platform`` to Qt)."""
    from resnet_desktop.gui.app import main as gui_main

    return gui_main([sys.argv[0] if sys.argv else "resnet-desktop", *(a for a in argv if a not in ("-v", "--verbose"))])


def run_command(args: argparse.Namespace) -> int:
    """Run the chosen command; typed errors become one line on stderr and their exit code."""
    from resnet_desktop.core.errors import ResNetDesktopError

    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        error(args.command, "interrupted")
        return Exit.INTERRUPTED
    except BrokenPipeError:
        return stdout_closed()
    except ResNetDesktopError as exc:
        error(args.command, exc)
        return exit_code_for(exc)

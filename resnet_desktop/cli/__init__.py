"""Command-line front door.

``resnet-desktop`` with no command starts the GUI; sub-commands run headless. Each command lives
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
from resnet_desktop.cli import bench, classify, evaluate, explain, export, finetune, organize
from resnet_desktop.cli.common import Exit, error, exit_code_for

COMMANDS = (classify, explain, finetune, evaluate, bench, organize, export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resnet-desktop",
        description="Classify, inspect and re-train ResNet image classifiers. "
        "Without a command, starts the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--self-test", action="store_true", help="run a headless self-test and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.self_test:
        from resnet_desktop.selftest import run_self_test

        return Exit.OK if run_self_test() else Exit.SOME_FAILED
    if args.command is None:
        from resnet_desktop.gui.app import main as gui_main

        return gui_main(sys.argv[:1])
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run the chosen command; typed errors become one line on stderr and their exit code."""
    from resnet_desktop.core.errors import ResNetDesktopError

    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        error(args.command, "interrupted")
        return Exit.INTERRUPTED
    except ResNetDesktopError as exc:
        error(args.command, exc)
        return exit_code_for(exc)

"""Command-line front door.

``resnet-desktop`` with no arguments starts the GUI; sub-commands run headless. Each
sub-command lives in its own ``cli_*`` module exposing ``add_parser(subparsers)`` (which sets
``func``), so this file only dispatches. Heavy imports happen inside the commands, keeping
``--help`` instant.

Exit codes: 0 success, 1 some inputs failed (e.g. unreadable images), 2 usage or model errors.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from resnet_desktop import __version__

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2

# Sub-command modules, each with add_parser(subparsers). Missing ones are skipped so that
# features can land one at a time.
COMMAND_MODULES = (
    "resnet_desktop.cli.classify",
    "resnet_desktop.cli.explain",
    "resnet_desktop.cli.finetune",
)


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
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.add_parser(subparsers)
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

        return run_self_test()
    if args.command is None:
        from resnet_desktop.gui.app import main as gui_main

        return gui_main(sys.argv[:1])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

"""The command line: one module per command, each with register(subparsers) and run(args) -> exit code.

Not the core: commands only parse, call rnnviz's functions (the same the app uses) and print. A mistake a
user can make ends as one line on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("list", "train", "inspect", "trace", "bench")


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage dump is noise on a bad flag: one line, exit 2
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> Parser:
    parser = Parser(prog="python -m rnnviz", description="See inside recurrent networks, headless.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"rnnviz.cli.{name}_cmd").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, OSError) as e:  # the core's ValueErrors are written for people
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

"""The ``rawgpt`` command line: ``chat``, ``batch``, ``mock-server`` and ``bench``.

It uses only the public client and MockServer, like any other program would.
Each subcommand is a module with ``add_parser(sub)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .. import OpenAIError
from . import batch, bench, chat, mock

_COMMANDS = {"chat": chat, "batch": batch, "mock-server": mock, "bench": bench}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rawgpt",
        description="OpenAI chat completions, batches, a mock server and a load test.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in _COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rawgpt`` command."""
    args = _parser().parse_args(argv)
    try:
        status: int = asyncio.run(_COMMANDS[args.command].run(args))
        return status
    except OpenAIError as exc:
        print(f"rawgpt: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

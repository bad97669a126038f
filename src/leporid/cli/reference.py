"""The command-line reference (``docs/cli.md``), rendered from the parsers themselves so that it
cannot drift from them: every sub-command's ``--help``, at a fixed width.

    python -m leporid.cli.reference > docs/cli.md      # regenerate after changing an option

``tests/test_cli_reference.py`` checks that the committed file equals :func:`render`.
"""

from __future__ import annotations

import argparse
import os
from contextlib import contextmanager

#: help width of the reference (argparse reads it from $COLUMNS), so it renders the same anywhere
WIDTH = 100

HEADER = """# Command line

Every sub-command's `--help`, generated from the parsers (`python -m leporid.cli.reference >
docs/cli.md`; a test checks that this page is current). Exit statuses and error messages:
[Errors and exit statuses](errors.md).
"""


@contextmanager
def _width(columns: int):
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser`` and every sub-command parser below it, depth first, in registration order."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                found += commands(sub)
    return found


def render() -> str:
    """The Markdown reference: one section per command with its ``--help`` text."""
    from . import build_parser

    parts = [HEADER]
    with _width(WIDTH):
        for p in commands(build_parser()):
            parts.append(f"## {p.prog}\n\n```text\n{p.format_help().rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")

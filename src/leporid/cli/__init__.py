"""``leporid`` command line: a thin dispatcher; each sub-command lives in its own module.

Exit status: 0 success; 1 bad data or a file that cannot be read or written (an unreadable or
malformed file, a missing file, an unknown id: ``DataError``, ``OSError``, ``KeyError``); 2 a
usage error (a bad option or parameter value: argparse errors and the ``ValueError`` /
``TypeError`` that parameter validation raises, checked before any expensive work); 130
interrupted. Errors are one line,
``leporid COMMAND: error: ...``, never a traceback (``LEPORID_DEBUG=1`` re-raises them).

Only the module of the command being run is imported (so ``leporid data stats`` never imports
torch); ``leporid --help`` imports them all.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__

# module name -> the sub-commands it registers (imported lazily so `--help` stays fast)
_COMMAND_MODULES = ["demo_cmd", "data_cmd", "embed_cmd", "evaluate_cmd", "train_cmd",
                    "recommend_cmd", "reproduce_cmd", "report_cmd"]


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``leporid embed: error: argument --dim: ...`` (exit 2).

    An option no parser knows is reported by the innermost (sub-)command that was parsing
    (``leporid train: error: unrecognized arguments: --bogus``): argparse would hand it up to
    ``leporid``, which does not say whose options to look at.
    """

    def error(self, message):  # noqa: D102
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")

    def parse_known_args(self, args=None, namespace=None):  # noqa: D102
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command``, modules are imported only until one registers it."""
    parser = Parser(
        prog="leporid",
        description="LEPORID/LE embeddings, DLR2 and the baselines of 'Initialization Matters' "
                    "(KDD'21).")
    parser.add_argument("--version", action="version", version=f"leporid {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
        if command is not None and command in sub.choices:
            break
    return parser


def _warnings_as_notes(command: str) -> None:
    """Warnings that leporid itself raises (a damaged cache entry recomputed, rows dropped...)
    print as ``leporid COMMAND: note: ...``, one line without a source line, in every command;
    other libraries' warnings keep Python's format. Call it inside ``warnings.catch_warnings()``,
    which restores the hook."""
    import warnings

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if os.path.abspath(str(filename)).startswith(package + os.sep):
            print(f"leporid {command}: note: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:        # argparse: --help / --version (0) or a usage error (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    import warnings

    with warnings.catch_warnings():
        _warnings_as_notes(args.command)
        return _run(args)


def _run(args) -> int:
    """The command, with its errors as one line and an exit status (module docstring)."""
    from ..data import DataError
    from .common import UsageError

    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `leporid data stats --json | head`
        sys.stderr.close()
        return 0
    except (UsageError, DataError, OSError, KeyError, ValueError, TypeError) as exc:
        if os.environ.get("LEPORID_DEBUG"):
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"leporid {args.command}: error: {msg}", file=sys.stderr)
        # bad data or files: 1; a usage error (a command's own check, or parameter validation's
        # ValueError / TypeError): 2
        bad_data = (isinstance(exc, (DataError, OSError, KeyError))
                    and not isinstance(exc, UsageError))
        return 1 if bad_data else 2
    except KeyboardInterrupt:
        print(f"leporid {args.command}: interrupted; completed work was saved", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

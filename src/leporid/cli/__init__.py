"""``leporid`` command line: a thin dispatcher; each sub-command lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__

# module name -> the sub-commands it registers (imported lazily so `--help` stays fast)
_COMMAND_MODULES = ["demo_cmd", "data_cmd", "embed_cmd", "evaluate_cmd", "train_cmd",
                    "reproduce_cmd", "report_cmd"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leporid",
        description="LEPORID/LE embeddings, DLR2 and the baselines of 'Initialization Matters' "
                    "(KDD'21).")
    parser.add_argument("--version", action="version", version=f"leporid {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from ..data import DataError
    from .common import UsageError
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"leporid {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (DataError, FileNotFoundError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"leporid {args.command}: error: {msg}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `leporid data stats --json | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"leporid {args.command}: interrupted; completed work was saved", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

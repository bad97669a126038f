"""Options and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse

from .. import DEFAULT_SEED

COLUMN_OPTIONS = ("user", "item", "time", "rating")


class UsageError(Exception):
    """A user error in the options or input files: one line on stderr, exit status 2."""


def add_dataset_args(p: argparse.ArgumentParser, split: bool = True) -> None:
    """``--dataset NAME_OR_PATH`` ``--format FMT`` (and ``--min-count`` for split commands)."""
    p.add_argument("--dataset", default="ml-latest-small",
                   help="bundled dataset name (ml-latest-small) or a file path "
                        "(default: ml-latest-small)")
    p.add_argument("--format", default=None,
                   help="file format when the path does not say it (see `leporid data formats`)")
    for role in COLUMN_OPTIONS:
        p.add_argument(f"--{role}-col", default=None, metavar="NAME",
                       help=f"{role} column of a header-based file (default: guessed)")
    if split:
        p.add_argument("--min-count", type=int, default=20,
                       help="iterative k-core: keep users and items with at least this many "
                            "interactions (default 20; protocol kcore)")
        p.add_argument("--protocol", choices=("kcore", "authors"), default="kcore",
                       help="kcore: the paper's text (k-core filter, exact 70/80%% "
                            "boundaries); authors: the paper's runs (no filter, floating-point "
                            "floor boundaries, items never in training dropped)")


def column_options(args) -> dict:
    """``user_col=...`` etc. for ``leporid.data.load`` from the ``--*-col`` options given."""
    return {f"{r}_col": getattr(args, f"{r}_col") for r in COLUMN_OPTIONS
            if getattr(args, f"{r}_col", None) is not None}


def add_seed_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")


def load_split(args):
    """The prepared split named by ``--dataset/--format/--min-count``; prints what was dropped."""
    from ..data import load, prepare
    from ..data.split_io import is_saved_split, load_split as _load_saved

    if is_saved_split(args.dataset):
        return _load_saved(args.dataset)
    inter = load(args.dataset, args.format, **column_options(args))
    return prepare(inter, min_count=args.min_count,
                   protocol=getattr(args, "protocol", "kcore"))


def add_export_args(p: argparse.ArgumentParser) -> None:
    """``--save-recommendations`` and ``--save-split`` (for commands that test a model)."""
    p.add_argument("--save-recommendations", metavar="FILE", default=None,
                   help="write the test top-10 lists as CSV user,rank,item (raw ids)")
    p.add_argument("--save-split", metavar="FILE", default=None,
                   help="write the split used as CSV user,item,timestamp,part (raw ids)")


def write_exports(args, split, test: dict, paths: dict) -> None:
    """Write the exports asked for (``test`` from ``evaluate(..., return_topn=True)``) and
    print every file written."""
    from ..eval import export_split_csv, save_recommendations

    if args.save_recommendations:
        paths["recommendations"] = save_recommendations(
            args.save_recommendations, split, test["users"], test["topn"], n=10)
    if args.save_split:
        paths["split"] = export_split_csv(split, args.save_split)
    for kind, path in paths.items():
        print(f"wrote {kind}: {path}")

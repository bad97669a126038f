"""Options and helpers shared by the sub-commands: dataset, seed, progress and ``--param``
options, option value types that check ranges while parsing (so a bad value is a one-line usage
error before any work), output path checks, the one naming rule of result and checkpoint files,
and the result table (rows, printer)."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from pathlib import Path

from .. import DEFAULT_SEED

COLUMN_OPTIONS = ("user", "item", "time", "rating")
KS = (1, 5, 10)  # the cut-offs of every result table
SHORT = {"HR": "HR", "Precision": "P", "Recall": "R", "F1": "F1", "NDCG": "NDCG"}
METRICS = [f"{m}@{k}" for m in SHORT for k in KS]


class UsageError(Exception):
    """A user error in the options or input files: one line on stderr, exit status 2."""


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to an option's help unless the help already says its default or
    there is none to say (argparse's ArgumentDefaultsHelpFormatter printed "(default: None)"
    after "default 1000", and the same default twice)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default  # by identity: a default of 0 is a default to say
        if ("default" in text or default is None or default is argparse.SUPPRESS
                or default is False or default == [] or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)"


def add_dataset_args(p: argparse.ArgumentParser, split: bool = True,
                     dataset: str | None = "ml-latest-small",
                     dataset_help: str = "a dataset name (`leporid data list`; ml-latest-small "
                                         "is bundled) or a file path (default: "
                                         "ml-latest-small)") -> None:
    """``--dataset NAME_OR_PATH`` ``--format FMT`` ``--*-col`` (and ``--min-count``,
    ``--protocol`` for split commands)."""
    p.add_argument("--dataset", default=dataset, help=dataset_help)
    p.add_argument("--download", action="store_true",
                   help="fetch a named dataset first if it is not in the data directory yet")
    p.add_argument("--format", default=None, type=format_option,
                   help="file format when the path does not say it (see `leporid data formats`)")
    for role in COLUMN_OPTIONS:
        p.add_argument(f"--{role}-col", default=None, metavar="NAME",
                       help=f"{role} column of a header-based file (default: guessed)")
    if split:
        p.add_argument("--min-count", type=int_option(0), default=20,
                       help="iterative k-core: keep users and items with at least this many "
                            "interactions (default 20; protocol kcore)")
        p.add_argument("--protocol", choices=("kcore", "authors"), default=None,
                       help="kcore: the paper's text (k-core filter, exact 70/80%% "
                            "boundaries); authors: the paper's runs (no filter, floating-point "
                            "floor boundaries, items never in training dropped); default: a "
                            "named dataset's own (`leporid data list`), else kcore")


def format_option(text: str) -> str:
    """argparse type of ``--format``: a known format name (or alias)."""
    from ..data import DataError
    from ..data.formats import normalise_format

    try:
        normalise_format(text)
    except DataError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def column_options(args) -> dict:
    """``user_col=...`` etc. for ``leporid.data.load`` from the ``--*-col`` options given."""
    return {f"{r}_col": getattr(args, f"{r}_col") for r in COLUMN_OPTIONS
            if getattr(args, f"{r}_col", None) is not None}


def add_seed_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int_option(0, 2**32 - 1), default=DEFAULT_SEED,
                   help=f"random seed, 0 to 2^32-1 (default {DEFAULT_SEED})")


def add_progress_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def show_progress(args) -> bool:
    """Progress bars: on a terminal, unless ``--no-progress``."""
    return sys.stderr.isatty() and not getattr(args, "no_progress", False)


def parse_param(text: str) -> tuple[str, object]:
    """argparse type of ``--param``-like options: ``key=value`` -> (key, value), the value
    parsed as bool / None / int / float / string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expects KEY=VALUE, got {text!r}")
    low = raw.strip().lower()
    if low in ("true", "false"):
        return key, low == "true"
    if low in ("none", "null"):
        return key, None
    for cast in (int, float):
        try:
            return key, cast(raw)
        except ValueError:
            pass
    return key, raw.strip()


def add_param_arg(p: argparse.ArgumentParser, help_text: str, option: str = "--param") -> None:
    """A repeatable ``KEY=VALUE`` option (a list of (key, value) pairs)."""
    p.add_argument(option, action="append", default=[], type=parse_param, metavar="KEY=VALUE",
                   help=help_text)


def _option_type(integer: bool, **rule):
    """An argparse ``type`` that parses a number and checks it with ``check_number``."""

    def parse(text: str):
        from ..data.validation import check_number

        try:
            value = int(text) if integer else float(text)
        except ValueError:
            kind = "an integer" if integer else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        try:
            return check_number(value, "value", integer=integer, **rule)
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(str(exc).replace("value must be", "must be")) from None

    parse.__name__ = "integer" if integer else "number"
    return parse


def int_option(low: int | None = 1, high: int | None = None):
    """argparse type: an integer in ``[low, high]``."""
    return _option_type(True, low=low, high=high)


def float_option(low: float | None = None, high: float | None = None, low_open: bool = False):
    """argparse type: a finite number in ``[low, high]`` (``(low`` with ``low_open``)."""
    return _option_type(False, low=low, high=high, low_open=low_open)


def scheduler_option(spec: str) -> str:
    """argparse type of ``--scheduler`` (``embed``, ``reproduce``): ``local:N`` or a scheduler
    address, checked by ``leporid.graph.distributed.parse_scheduler``."""
    from ..graph.distributed import parse_scheduler

    try:
        parse_scheduler(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--scheduler {spec!r}: ")) from None
    return spec


def dataset_stem(dataset) -> str:
    """The dataset part of result / checkpoint file names: the file (or folder, or bundled)
    name without its last extension (``u.data`` -> ``u``, ``x.v2.csv`` -> ``x.v2``), preceded by
    its folder's name for the standard file names (``ml-1m/ratings.dat`` -> ``ml-1m-ratings``,
    ``ml-100k/u.data`` -> ``ml-100k-u``), made safe
    for a file name with no dot left in it (so ``Path.with_suffix`` can never eat into it);
    when that changed the name, a short hash of the full name keeps two names apart."""
    from ..data.formats import known_files

    p = Path(str(dataset))
    name = p.name or str(dataset)
    stem = p.stem if (p.suffix and not p.is_dir()) else name
    if name.lower() in known_files() and p.parent.name:
        # a standard file name (ratings.dat, u.data, ...) says little: the folder says which
        stem = f"{p.parent.name}-{stem}"
        name = f"{p.parent.name}/{name}"
    return _safe_name(stem, name)


def _safe_name(text: str, full: str) -> str:
    """``text`` with runs of characters other than letters, digits, ``_``, ``-`` replaced by
    ``-``; when that changed it, ``-`` and 6 hex digits of SHA-256(``full``) are appended."""
    clean = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"
    if clean != text:
        clean += "-" + hashlib.sha256(full.encode()).hexdigest()[:6]
    return clean


def result_stem(out, command: str, dataset, *parts) -> Path:
    """``OUT/COMMAND_DATASET_PART1_PART2...`` (no extension, no dot): the one naming rule of
    result and checkpoint files (``parts``: model, init, ...). Every part is made safe as the
    dataset's name is (no extension removed), so two runs that differ in any part never share
    a file."""
    names = [command, dataset_stem(dataset)] + [_safe_name(str(x), str(x)) for x in parts if x]
    return Path(out) / "_".join(names)


def seed_part(seed) -> str:
    """The seed's part of a result name: empty for the default seed (names unchanged), else
    ``seedN`` — so runs of several seeds into one ``--out`` never share a file."""
    return "" if seed is None or int(seed) == DEFAULT_SEED else f"seed{int(seed)}"


def check_output_dir(path, option: str = "--out") -> Path:
    """``path`` if it is (or can become) a writable directory, else a ``ValueError`` naming the
    option — checked before any work, so a bad ``--out`` never costs a run."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{option} {path}: exists and is not a directory")
    parent = next((q for q in (p, *p.parents) if q.exists()), Path("."))
    if not parent.is_dir():
        raise ValueError(f"{option} {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: {parent} is not writable")
    return p


def check_output_file(path, option: str) -> Path | None:
    """``path`` if a file can be written there (not a directory; its folder writable)."""
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{option} {path}: is a directory; give a file name")
    check_output_dir(p.parent, option)
    return p


def load_split(args):
    """The prepared split named by ``--dataset/--format/--min-count``; what the loader drops is
    warned, and ``leporid.cli.main`` prints it as a note."""
    from ..data import prepare
    from ..data.loaders import load_dataset
    from ..data.split_io import is_saved_split
    from ..data.split_io import load_split as _load_saved

    if is_saved_split(args.dataset):
        return _load_saved(args.dataset)
    # a registry name: its fetched copy (--download: fetched now) and its protocol by default
    inter, protocol = load_dataset(args.dataset, args.format, getattr(args, "protocol", None),
                                   getattr(args, "download", False), **column_options(args))
    return prepare(inter, min_count=args.min_count, protocol=protocol)


def add_export_args(p: argparse.ArgumentParser) -> None:
    """``--save-recommendations`` and ``--save-split`` (for commands that test a model)."""
    p.add_argument("--save-recommendations", metavar="FILE", default=None,
                   help="write the test top-10 lists as CSV user,rank,item (raw ids)")
    p.add_argument("--save-split", metavar="FILE", default=None,
                   help="write the split used as CSV user,item,timestamp,part (raw ids)")


def check_result_paths(args) -> None:
    """Refuse a bad ``--out`` and bad ``--save-recommendations`` / ``--save-split`` paths
    before any work."""
    check_output_dir(args.out)
    check_output_file(args.save_recommendations, "--save-recommendations")
    check_output_file(args.save_split, "--save-split")


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


def result_rows(results: dict[str, dict]) -> list[dict]:
    """One row per (part, user group) with every metric of ``evaluate``'s result."""
    rows = []
    for part, res in results.items():
        for group in ("all", "tail"):
            rows.append({"part": part, "users": group, **res[group]})
    return rows


def print_table(rows: list[dict]) -> None:
    """The result rows as a Markdown table, metrics by their short names (``P@10``)."""
    from ..results import markdown_table

    cols = ["part", "users", "n_users"] + [f"{m}@{k}" for k in KS for m in SHORT]
    short = [{c if "@" not in c else f"{SHORT[c.split('@')[0]]}@{c.split('@')[1]}": r.get(c)
              for c in cols} for r in rows]
    print(markdown_table(short), end="")


def write_results(args, stem, split, validation: dict, test: dict, *, params, tune, seconds,
                  config: dict | None = None, meta: dict | None = None) -> dict:
    """Print the result table of a run of ``args.model`` and write it at ``stem`` (JSON + CSV +
    Markdown) with the run's configuration (``config``: the command's own entries) and
    provenance (``meta``: extra entries); returns the paths written."""
    from ..data.stats import TAIL_FRACTION
    from ..results import provenance, write_table

    rows = result_rows({"validation": validation, "test": test})
    print_table(rows)
    config = {"command": args.command, "dataset": args.dataset, "format": args.format,
              "min_count": args.min_count, "protocol": split.protocol, "model": args.model,
              "params": params, "tune": tune, "ks": list(KS), "tail_fraction": TAIL_FRACTION,
              **(config or {})}
    meta = {**provenance(config, args.seed, split.fingerprint()),
            "split_report": dict(getattr(split, "report", {}) or {}),
            "n_users": split.n_users, "n_items": split.n_items, "seconds": round(seconds, 3),
            **(meta or {})}
    return write_table(stem, rows, meta)

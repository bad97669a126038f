"""``leporid data stats|prepare|formats``: inspect datasets and save prepared splits."""

from __future__ import annotations

import json
import sys

from .common import add_dataset_args, check_output_dir, column_options, loader_notes


def register(sub) -> None:
    """Add ``leporid data`` and its actions to the sub-command parser ``sub``."""
    p = sub.add_parser("data", help="dataset statistics, prepared splits and file formats",
                       description="Inspect datasets (Table-2 statistics), save prepared "
                                   "(filtered and split) datasets, list the file formats.")
    p.set_defaults(func=lambda args: _usage(p))
    acts = p.add_subparsers(dest="action", metavar="ACTION")

    st = acts.add_parser("stats", help="Table-2 statistics before and after filtering",
                         description="Print the paper's Table-2 statistics of the dataset as "
                                     "loaded and after de-duplication and the k-core filter, "
                                     "with the split sizes and everything that was dropped.")
    add_dataset_args(st)
    st.add_argument("--json", action="store_true", help="print the statistics as JSON")
    st.set_defaults(func=_stats)

    pr = acts.add_parser("prepare", help="filter, split and save a dataset",
                         description="De-duplicate, k-core filter and split the dataset "
                                     "chronologically (70/10/20 per user), and save it as a "
                                     "directory that any command reads back with --dataset DIR.")
    add_dataset_args(pr)
    pr.add_argument("--out", required=True, metavar="DIR", help="directory to write the split to")
    pr.set_defaults(func=_prepare)

    fm = acts.add_parser("formats", help="list the file formats --format accepts")
    fm.set_defaults(func=_formats)


def _usage(p) -> int:
    p.print_help(sys.stderr)
    return 2


def _load(args):
    """Load ``--dataset`` (the loader's warnings printed as notes); None for a saved split."""
    from ..data import load
    from ..data.split_io import is_saved_split

    if is_saved_split(args.dataset):
        return None
    with loader_notes(args):
        return load(args.dataset, args.format, **column_options(args))


def _stats(args) -> int:
    from ..data import dataset_statistics, format_statistics, prepare
    from ..data.split_io import load_split

    inter = _load(args)
    if inter is None:
        split = load_split(args.dataset)
        out = {"prepared": dataset_statistics(split)}
    else:
        out = {"loaded": dataset_statistics(inter),
               "prepared": dataset_statistics(prepare(inter, min_count=args.min_count,
                                                           protocol=args.protocol))}
    if args.json:
        print(json.dumps(out, indent=2, default=str))
        return 0
    if "loaded" in out:
        print(format_statistics(out["loaded"]))
        print()
    print(format_statistics(out["prepared"]))
    return 0


def _prepare(args) -> int:
    from ..data import dataset_statistics, format_statistics, prepare
    from ..data.interactions import DataError
    from ..data.split_io import check_split_target, save_split

    check_output_dir(args.out)
    check_split_target(args.out)
    inter = _load(args)
    if inter is None:
        raise DataError(f"{args.dataset}: is already a prepared split")
    split = prepare(inter, min_count=args.min_count, protocol=args.protocol)
    path = save_split(split, args.out)
    print(format_statistics(dataset_statistics(split)))
    print(f"\nsaved the split to {path} (data fingerprint {split.fingerprint()}); "
          f"read it back with --dataset {path}")
    return 0


def _formats(args) -> int:
    from ..data.formats import FORMATS, detection_rules
    from ..data.loaders import BUNDLED

    width = max(map(len, FORMATS))
    print("Formats (--format NAME):")
    for fmt in FORMATS.values():
        aliases = f" (also: {', '.join(fmt.aliases)})" if fmt.aliases else ""
        print(f"  {fmt.name:<{width}}  {fmt.description}{aliases}")
    rules = detection_rules()
    width = max(len(names) for names, _ in rules)
    print("\nWithout --format the file name decides (the first rule that matches):")
    for names, fmt in rules:
        print(f"  {names:<{width}}  -> {fmt}")
    print("\nBundled datasets (--dataset NAME):")
    for name, desc in BUNDLED.items():
        print(f"  {name}  {desc}")
    return 0

"""``leporid data stats|prepare|formats|list|fetch``: inspect datasets, save prepared splits,
and get datasets by name (the registry, docs/datasets.md)."""

from __future__ import annotations

import json
import sys

from .common import add_dataset_args, check_output_dir, column_options


def register(sub) -> None:
    """Add ``leporid data`` and its actions to the sub-command parser ``sub``."""
    p = sub.add_parser("data", help="datasets by name, statistics, prepared splits, formats",
                       description="Get datasets by name (list, fetch), inspect datasets "
                                   "(Table-2 statistics), save prepared (filtered and split) "
                                   "datasets, list the file formats.")
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

    ls = acts.add_parser("list", help="the datasets known by name: size, licence, protocol, "
                                      "fetched or not",
                         description="List the registry's datasets (--dataset NAME works for "
                                     "each once fetched): size, licence, default protocol, how "
                                     "a download is verified, and whether and where it is "
                                     "fetched. Data directory: $LEPORID_DATA, else the user "
                                     "cache folder.")
    ls.add_argument("--json", action="store_true", help="print the records as JSON")
    ls.set_defaults(func=_list)

    fe = acts.add_parser("fetch", help="download a dataset by name, verified",
                         description="Download a registry dataset into the data directory "
                                     "($LEPORID_DATA), check its checksum (or record it on "
                                     "first use), and unpack the file the loaders read. A "
                                     "dataset already fetched is left alone.")
    fe.add_argument("name", metavar="NAME", help="a dataset name (see `leporid data list`)")
    fe.add_argument("--from", dest="source", metavar="FILE", default=None,
                    help="install a file you downloaded yourself (datasets behind a login, "
                         "offline machines); checked as a download is")
    fe.add_argument("--mirror", metavar="URL", default=None,
                    help="fetch from URL instead of the publisher's host (the path is kept); "
                         "default $LEPORID_DATA_MIRROR")
    fe.add_argument("--force", action="store_true", help="fetch again even if it is there")
    fe.set_defaults(func=_fetch)


def _usage(p) -> int:
    p.print_help(sys.stderr)
    return 2


def _load(args):
    """Load ``--dataset`` (its warnings are printed as notes by ``main``); None if it is a saved
    split. A registry name's protocol becomes ``args.protocol`` unless one was given."""
    from ..data.loaders import load_dataset
    from ..data.split_io import is_saved_split

    if is_saved_split(args.dataset):
        return None
    inter, args.protocol = load_dataset(args.dataset, args.format, args.protocol, args.download,
                                        **column_options(args))
    return inter


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
    print("\nDatasets by name: `leporid data list`")
    return 0


def _list(args) -> int:
    from dataclasses import asdict

    from ..data.datasets import DATASETS
    from ..data.fetch import data_dir, installed

    root = data_dir()
    rows = []
    for rec in DATASETS.values():
        info = None if rec.bundled else installed(rec.name)
        where = ("bundled" if rec.bundled else
                 str(root / rec.name / info["file"]) if info else "not fetched")
        rows.append((rec, where, info))
    if args.json:
        print(json.dumps([{**asdict(r), "verification": r.verification, "where": w,
                           "fetched": i} for r, w, i in rows], indent=2))
        return 0
    print(f"Datasets by name (--dataset NAME); data directory: {root} (${{LEPORID_DATA}})")
    for rec, where, info in rows:
        paper = f", the paper's {rec.paper}" if rec.paper else ""
        get = ("shipped" if rec.bundled else
               f"login needed: get {rec.member} from {rec.page}, then `leporid data fetch "
               f"{rec.name} --from FILE`" if rec.login else f"`leporid data fetch {rec.name}`")
        print(f"\n{rec.name}  {rec.title}  [{rec.size}]")
        print(f"  fetched:   {where}")
        print(f"  get it:    {get}")
        tofu = info and rec.checksum is None
        print(f"  verified:  {rec.verification}" + (f"; recorded {info['sha256']}" if tofu else ""))
        print(f"  licence:   {rec.licence}")
        print(f"  protocol:  {rec.protocol}{paper}; {rec.preparation}")
        print(f"  format:    {rec.format} ({rec.member})")
    return 0


def _fetch(args) -> int:
    from ..data.datasets import dataset
    from ..data.fetch import fetch

    rec = dataset(args.name)
    path, new = fetch(rec.name, source=args.source, mirror=args.mirror, force=args.force)
    if not new:
        print(f"{rec.name}: already fetched: {path} (--force fetches it again)")
        return 0
    print(f"{rec.name}: ready: {path}; use it with --dataset {rec.name}")
    return 0

"""``leporid embed``: user and item embeddings of any registered initialiser (LEPORID, LE, SVD,
NetMF, node2vec, Graph-Bert, BPR, random, or a user's own) written as .npy with metadata."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .common import (
    DefaultsHelpFormatter,
    UsageError,
    add_dataset_args,
    add_param_arg,
    add_seed_arg,
    check_output_dir,
    check_output_file,
    column_options,
    dataset_stem,
    float_option,
    int_option,
    scheduler_option,
)

#: ``--format authors`` makes row i = id i: the largest id may exceed the number of distinct
#: ids by at most this factor (plus ``AUTHORS_SLACK``) before the rows, mostly empty, are refused
AUTHORS_GAP_FACTOR, AUTHORS_SLACK = 2, 10_000


def register(sub) -> None:
    p = sub.add_parser(
        "embed", help="compute user and item embeddings (LEPORID, LE, SVD, NetMF, node2vec, ...)",
        description="Compute user and item embeddings with any registered initialiser "
                    "(`--list` shows them with their parameters). With --dataset the data is "
                    "de-duplicated, k-core filtered and split, and the TRAIN part is embedded. "
                    "With --input FILE the file is embedded as it is (no filtering or "
                    "splitting); with --format authors its integer ids are used as given, so "
                    "row i of the output is id i of the file. Results are cached on disk "
                    "($LEPORID_CACHE, default ~/.cache/leporid).",
        formatter_class=DefaultsHelpFormatter)
    add_dataset_args(p)
    p.add_argument("--input", default=None, metavar="FILE",
                   help="embed this interaction file as it is (overrides --dataset)")
    p.add_argument("--method", default="leporid",
                   help="initialiser name (see --list)")
    add_param_arg(p, "initialiser parameter (repeatable; see --list)")
    p.add_argument("--list", action="store_true",
                   help="list the initialisers, their parameters and defaults, and exit")
    p.add_argument("--neighbors", type=int_option(1), default=None,
                   help="K of the Jaccard KNN graphs (= --param n_neighbors=K; default 1000)")
    p.add_argument("--alpha", type=float_option(0, 1), default=None,
                   help="LEPORID regularisation α (= --param alpha=A; default 0.5; LE is α=0)")
    p.add_argument("--dim", type=int_option(1), default=64, help="embedding dimension 𝒟")
    p.add_argument("--laplacian", choices=["sym", "rw", "unnorm"], default=None,
                   help="LE/LEPORID Laplacian (= --param laplacian=...; default sym)")
    p.add_argument("--raw", action="store_true",
                   help="LE/LEPORID: write the unit eigenvectors (ascending eigenvalue order) "
                        "instead of z-scored columns (= --param output=raw)")
    p.add_argument("--device", default="auto",
                   help="cpu, cuda or auto (GPU when present), for initialisers with a device")
    p.add_argument("--scheduler", default=None, type=scheduler_option, metavar="SPEC",
                   help="build the graphs on Dask: local:N (a local cluster of N "
                        "workers in this process) or tcp://HOST:PORT (a running scheduler); needs "
                        "leporid[dist]")
    p.add_argument("--approximate", nargs="?", const="", default=None, type=_approximate,
                   metavar="KEY=INT,...",
                   help="approximate graphs (MinHash LSH re-ranked by exact Jaccard) for very "
                        "large inputs; optional bands=, window=, candidates=, refine= (most "
                        "rounds), fan= (new neighbours read per round), stop= (per 10,000 changed "
                        "entries), seed=, "
                        "sample= (rows for the printed recall check, 0 = none), compare=1 "
                        "(also run the exact pipeline and print the subspace agreement)")
    add_seed_arg(p)
    p.add_argument("--out", default=None,
                   help="output directory (default results/embeddings/DATASET_METHOD)")
    p.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the embedding / KNN-graph cache")
    p.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="cache directory (default $LEPORID_CACHE, else ~/.cache/leporid)")
    p.add_argument("--plot", default=None, metavar="FILE.png",
                   help="also draw a 2-D projection of the embeddings coloured by interaction "
                        "count")
    p.add_argument("--projection", choices=["pca", "tsne"], default="pca",
                   help="projection used by --plot")
    p.set_defaults(func=run)


def fail(message) -> None:
    """A one-line user error, exit status 2 (``UsageError``, reported by ``leporid.cli.main``)."""
    raise UsageError(str(message)) from None


def list_schemes() -> str:
    """``--list``: every initialiser, its description, parameters and defaults."""
    from ..init import available, describe, parameters

    lines = []
    for name in available():
        params = parameters(name)
        lines.append(f"{name:10s} {describe(name)}")
        lines.append(" " * 11 + (", ".join(f"{k}={v!r}" for k, v in params.items())
                                 or "(no parameters)"))
    return "\n".join(lines)


def scheme_params(args) -> dict:
    """``--param`` pairs plus the shortcut options, validated against the scheme."""
    from ..init import parameters, resolve_params

    try:
        known = parameters(args.method)
    except ValueError as exc:
        fail(f"--method: {exc}")
    params = dict(args.param)
    shortcuts = {"n_neighbors": args.neighbors, "alpha": args.alpha,
                 "laplacian": args.laplacian, "output": "raw" if args.raw else None}
    for key, value in shortcuts.items():
        if value is None:
            continue
        if key not in known:
            opt = {"n_neighbors": "--neighbors", "output": "--raw"}.get(key, f"--{key}")
            fail(f"{opt} does not apply to {args.method} (no parameter {key})")
        params.setdefault(key, value)
    from ..utils.device import resolve_device

    try:  # checked for every scheme, before any work; recorded as the device that runs
        device = resolve_device(args.device, "--device")
    except ValueError as exc:
        fail(exc)
    if "device" in known:
        params.setdefault("device", device)
    try:
        return resolve_params(args.method, params, args.dim)
    except ValueError as exc:
        fail(exc)


def _approximate(spec: str) -> dict:
    from ..graph.approximate import parse_approximate

    try:
        return parse_approximate(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--approximate {spec!r}: "))\
            from None


def identity_matrix(inter) -> sp.csr_matrix:
    """Users x items with the file's integer ids as row / column numbers (authors' convention)."""
    from ..data import DataError

    name = inter.meta.get("path", inter.name)
    for kind, ids in (("user", inter.user_ids), ("item", inter.item_ids)):
        if not np.issubdtype(np.asarray(ids).dtype, np.integer) or ids.min() < 0:
            raise DataError(f"{name}: --format authors needs non-negative integer {kind} ids "
                            f"to use them as row numbers")
        # bounded memory: ids are row numbers, so a huge id would allocate that many rows
        if int(ids.max()) + 1 > AUTHORS_GAP_FACTOR * len(ids) + AUTHORS_SLACK:
            raise DataError(f"{name}: --format authors uses ids as row numbers, but the largest "
                            f"{kind} id {int(ids.max())} is far above the {len(ids)} distinct "
                            f"{kind} ids (rows would be mostly empty); renumber the ids "
                            f"0..n-1, or embed with another format (which numbers them "
                            f"compactly and writes the id files)")
    u = inter.user_ids[inter.users]
    i = inter.item_ids[inter.items]
    X = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)),
                      shape=(int(inter.user_ids.max()) + 1, int(inter.item_ids.max()) + 1))
    X.sum_duplicates()
    X.data[:] = 1.0
    return X


def run(args) -> int:
    if args.list:
        print(list_schemes())
        return 0
    params = scheme_params(args)  # every user error before any work
    if args.plot and not args.plot.lower().endswith(".png"):
        fail(f"--plot expects a .png file name, got {args.plot!r}")
    if args.plot:       # an unwritable plot path must not cost the embeddings
        check_output_file(args.plot, "--plot")
    if args.scheduler or args.approximate is not None:
        if args.method not in ("le", "leporid"):
            fail(f"--scheduler / --approximate apply to le and leporid, not {args.method}")
        if args.scheduler:
            import importlib.util

            if importlib.util.find_spec("distributed") is None:
                fail('--scheduler needs Dask: pip install "leporid[dist]"')
            params["scheduler"] = args.scheduler
        if args.approximate is not None:
            params["approximate"] = args.approximate
    out = Path(args.out) if args.out else (
        Path("results/embeddings") /
        f"{dataset_stem(args.dataset if args.input is None else args.input)}_{args.method}")
    check_output_dir(out)
    if args.scheduler:      # the cluster starts while the input is read
        from ..graph.distributed import prestart

        prestart(args.scheduler)
    from ..data import load
    from ..init import compute
    from ..init.loader import save_embeddings
    from ..results import provenance

    t0 = time.perf_counter()
    if args.input is not None:
        inter = load(args.input, args.format, **column_options(args))
        fingerprint = inter.fingerprint()
        if args.format == "authors":
            X = identity_matrix(inter)
            user_ids, item_ids = np.arange(X.shape[0]), np.arange(X.shape[1])
        else:
            X, user_ids, item_ids = inter.to_csr(), inter.user_ids, inter.item_ids
        source = {"input": str(args.input), "format": args.format, "prepared": False}
    else:
        from .common import load_split
        split = load_split(args)
        X, user_ids, item_ids = split.train, split.user_ids, split.item_ids
        fingerprint = split.fingerprint()
        source = {"dataset": str(args.dataset), "format": args.format,
                  "min_count": args.min_count, "protocol": split.protocol, "prepared": True,
                  "part": "train"}
    t_load = time.perf_counter() - t0
    cache = False if args.no_cache else args.cache_dir
    try:
        emb = compute(args.method, X, args.dim, args.seed, params, cache=cache)
    except ValueError as exc:  # a value only the data can refute (e.g. dim > nodes)
        fail(exc)
    info = dict(emb.info)
    timings = {"load": t_load, "compute": emb.seconds, **info.pop("timings_s", {})}
    meta = provenance({"method": args.method, **params, "dim": args.dim, **source}, args.seed,
                      fingerprint)
    meta.update({"params": params, "cache": "hit" if emb.cache_hit else "miss",
                 "shape": {"users": list(emb.user.shape), "items": list(emb.item.shape)},
                 "timings_s": timings, **info})
    out = save_embeddings(out, emb.user, emb.item, user_ids, item_ids, meta)
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if k != "device")
    print(f"{args.method}: {X.shape[0]} users x {X.shape[1]} items, {X.nnz} interactions, "
          f"dim={args.dim}, seed={args.seed}{', ' + shown if shown else ''}")
    print(f"  computed in {emb.seconds:.2f}s" if not emb.cache_hit
          else f"  read from the cache in {emb.seconds:.2f}s")
    for side in ("user", "item"):
        if f"{side}_eigenvalues" in info:
            lam, res = np.asarray(info[f"{side}_eigenvalues"]), info[f"{side}_residuals"]
            g = info["graphs"][side]
            print(f"  {side}s: {g['edges']} edges, {g['isolated']} isolated, "
                  f"{g.get('eigen_solver')}; eigenvalues {lam[0]:.4g}..{lam[-1]:.4g}; "
                  f"max relative residual {max(res):.1e}")
    report_scale(info, timings)
    print(f"wrote {out}/user_embeddings.npy, item_embeddings.npy, user_ids.npy, item_ids.npy, "
          f"metadata.json")
    if args.plot:
        from ..init.plot import plot_embeddings

        counts = (np.diff(X.tocsr().indptr), np.diff(X.tocsc().indptr))
        plot_embeddings(emb.user, emb.item, *counts, args.plot, projection=args.projection,
                        title=f"{args.method} (dim {args.dim})", seed=args.seed)
        print(f"wrote {args.plot}")
    return 0


def report_scale(info: dict, timings: dict) -> None:
    """The approximate mode's measured quality and the Dask connection time, when used."""
    if "connect" in timings:
        print(f"  dask: connected in {timings['connect']:.2f}s")
    for side in ("user", "item"):
        g = info.get("graphs", {}).get(side, {})
        if "graph_recall" in g:
            line = (f"  {side}s: approximate graph recall of the exact K neighbours "
                    f"{g['graph_recall']:.3f} (sample of {g['graph_recall_sample']} rows)")
            if g.get("graph_refine_changed"):
                ch = g["graph_refine_changed"]
                line += (f" after {len(ch)} refinement round{'s' * (len(ch) != 1)} (the last "
                         f"changed {100 * ch[-1]:.2g}% of the lists)")
            if "subspace_cos_min" in g:
                line += (f"; first {g['subspace_dims']} eigenvectors vs exact: subspace "
                         f"cosine mean {g['subspace_cos_mean']:.4f}, min "
                         f"{g['subspace_cos_min']:.4f} (exact run {g['exact_seconds']:.1f}s)")
            print(line)

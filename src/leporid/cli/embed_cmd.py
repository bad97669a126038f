"""``leporid embed``: LEPORID / LE user and item embeddings written as .npy with metadata."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .common import (add_dataset_args, add_seed_arg, check_output_dir, column_options,
                     dataset_stem, float_option, int_option)

#: ``--format authors`` makes row i = id i: the largest id may exceed the number of distinct
#: ids by at most this factor (plus ``AUTHORS_SLACK``) before the rows, mostly empty, are refused
AUTHORS_GAP_FACTOR, AUTHORS_SLACK = 2, 10_000


def register(sub) -> None:
    p = sub.add_parser(
        "embed", help="compute LEPORID / LE user and item embeddings",
        description="Compute LEPORID (or LE) embeddings. With --dataset the data is "
                    "de-duplicated, k-core filtered and split, and the TRAIN part is embedded. "
                    "With --input FILE the file is embedded as it is (no filtering or "
                    "splitting); with --format authors its integer ids are used as given, so "
                    "row i of the output is id i of the file.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_dataset_args(p)
    p.add_argument("--input", default=None, metavar="FILE",
                   help="embed this interaction file as it is (overrides --dataset)")
    p.add_argument("--method", choices=["leporid", "le"], default="leporid")
    p.add_argument("--neighbors", type=int_option(1), default=1000,
                   help="K of the Jaccard KNN graphs (>= 1)")
    p.add_argument("--alpha", type=float_option(0, 1), default=None,
                   help="LEPORID regularisation α in [0, 1] (default 0.5; LE is α=0)")
    p.add_argument("--dim", type=int_option(1), default=64,
                   help="embedding dimension 𝒟 (>= 1, at most the number of users and of items)")
    p.add_argument("--laplacian", choices=["sym", "rw", "unnorm"], default="sym")
    p.add_argument("--raw", action="store_true",
                   help="write the unit eigenvectors (ascending eigenvalue order) instead of "
                        "z-scored columns")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (GPU when present)")
    add_seed_arg(p)
    p.add_argument("--out", default=None,
                   help="output directory (default results/embeddings/DATASET_METHOD)")
    p.set_defaults(func=run)


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
    from ..data import load
    from ..init.spectral_init import LaplacianEigenmaps, LeporidEmbedding
    from ..results import atomic_save_npy, provenance, write_json

    if args.method == "le" and args.alpha not in (None, 0.0):
        raise ValueError("--alpha: LE is α = 0; use --method leporid to set --alpha")
    alpha = 0.0 if args.method == "le" else (0.5 if args.alpha is None else args.alpha)
    out = Path(args.out) if args.out else (
        Path("results/embeddings") /
        f"{dataset_stem(args.dataset if args.input is None else args.input)}_{args.method}")
    check_output_dir(out)
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
    cls = LaplacianEigenmaps if args.method == "le" else LeporidEmbedding
    est = cls(n_components=args.dim, n_neighbors=args.neighbors, alpha=alpha,
              laplacian=args.laplacian, output="raw" if args.raw else "zscore",
              device=args.device, seed=args.seed, progress=True).fit(X)
    atomic_save_npy(out / "user_embeddings.npy", est.user_embeddings_)
    atomic_save_npy(out / "item_embeddings.npy", est.item_embeddings_)
    for side, ids in (("user", user_ids), ("item", item_ids)):
        ids = np.asarray(ids)  # string ids are saved as unicode, never as pickled objects
        atomic_save_npy(out / f"{side}_ids.npy", ids.astype(str) if ids.dtype == object else ids)
    meta = provenance({"method": args.method, **est.get_params(), **source}, args.seed,
                      fingerprint)
    meta.update({"shape": {"users": list(est.user_embeddings_.shape),
                           "items": list(est.item_embeddings_.shape)},
                 "timings_s": {"load": t_load, **est.timings_},
                 "user_eigenvalues": est.user_eigenvalues_, "item_eigenvalues": est.item_eigenvalues_,
                 "user_residuals": est.user_residuals_, "item_residuals": est.item_residuals_,
                 "graphs": est.info_})
    write_json(out / "metadata.json", meta)
    print(f"{args.method}: {X.shape[0]} users x {X.shape[1]} items, {X.nnz} interactions, "
          f"K={args.neighbors}, alpha={alpha}, dim={args.dim}, {args.laplacian} Laplacian")
    for side in ("user", "item"):
        lam = getattr(est, f"{side}_eigenvalues_")
        res = getattr(est, f"{side}_residuals_")
        info = est.info_[side]
        print(f"  {side}s: graph {est.timings_[f'{side}_graph']:.2f}s ({info['edges']} edges, "
              f"{info['isolated']} isolated), eigen {est.timings_[f'{side}_eigen']:.2f}s "
              f"({info['eigen_solver']}); eigenvalues {lam[0]:.4g}..{lam[-1]:.4g}; "
              f"max relative residual {res.max():.1e}")
    print(f"wrote {out}/user_embeddings.npy, item_embeddings.npy, user_ids.npy, item_ids.npy, "
          f"metadata.json")
    return 0

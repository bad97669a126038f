"""Graph-Bert's intimacy contexts (``leporid.init.graphbert.intimacy_topk``) on one dataset's
training interaction graph, or on a synthetic one: wall time and peak memory of each method
(each in its own subprocess), and how far their context lists agree with the first method's.

    python benchmarks/bench_intimacy.py --dataset ../shared/datasets/ml-1m/ml-1m.pairs.txt \\
        --format steam-seq --protocol authors --methods exact series push:1e-8 push:1e-9

    python benchmarks/bench_intimacy.py --synthetic 60000 20000 5000000 --sources 64 \\
        --methods reference push:1e-8 push:1e-9 series-estimate

Methods: ``exact``, ``series``, ``push`` (default eps) or ``push:EPS``; with ``--sources N``
(a seeded random sample of N source nodes, for graphs where a full run takes hours) also
``reference`` (the power series on just those columns, cut at ``--reference-tol``: an
independent near-exact answer) and ``series-estimate`` (one sparse product on one block of
1,024 columns, as the series path does them, times the products and blocks of a full run:
an estimate of the series' time, not a run). With ``--sources`` the seconds are for the
sample; ``est_all_s`` scales them to every node (push's work per source does not depend on the
others).

Data: the TRAIN part of ``leporid.data.prepare`` under ``--protocol``, or
``leporid.data.synthetic.power_law_interactions(USERS, ITEMS, INTERACTIONS, seed=11)`` (all
interactions; built once, handed to the workers through a temporary file). Peak memory is the
child's ``ru_maxrss`` (includes the loaded data and imported libraries; ``rss_before_mb`` is the
level just before the intimacy step).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOCK = 1024  # the series path's block of columns


def graph(args):
    import scipy.sparse as sp

    from leporid.data import load, prepare
    from leporid.init.node2vec import interaction_graph

    if args.synthetic:
        return sp.load_npz(args.graph).tocsr()
    return interaction_graph(prepare(load(args.dataset, args.format),
                                     protocol=args.protocol).train)


def sample(n: int, size: int):
    import numpy as np

    return np.sort(np.random.default_rng(0).choice(n, size, replace=False))


def reference_topk(A, cols, k, tol):
    """Top-k of the power series on columns ``cols`` only, cut at ``tol`` (rounded, self left
    out, ties to the lower index, zero = padding) and the seconds of its first product."""
    import numpy as np

    from leporid.init.graphbert import INTIMACY_DECIMALS, _transition

    n = A.shape[0]
    P = _transition(A, 0.15)
    X = np.zeros((n, len(cols)))
    X[cols, np.arange(len(cols))] = 1.0
    S = X.copy()
    for _ in range(int(np.ceil(np.log(tol) / np.log(0.85)))):
        X = P @ X
        S += X
    S *= 0.15
    np.round(S, INTIMACY_DECIMALS, out=S)
    S[cols, np.arange(len(cols))] = -np.inf
    out = np.full((len(cols), k), -1, np.int64)
    for c in range(len(cols)):
        s = S[:, c]
        top = np.lexsort((np.arange(n), -s))[:k]
        top = top[s[top] > 0]
        out[c, :len(top)] = top
    return out


def series_estimate(A, tol=1e-4):
    """Seconds of one product ``P @ X`` (+ the running sum) on one block of BLOCK columns, and
    that times the series' products per block and its number of blocks."""
    import numpy as np

    from leporid.init.graphbert import _transition

    n = A.shape[0]
    P = _transition(A, 0.15)
    X = np.zeros((n, min(BLOCK, n)))
    X[np.arange(X.shape[1]), np.arange(X.shape[1])] = 1.0
    X = P @ X  # one product first: the block's columns are no longer unit vectors
    S = X.copy()
    t0 = time.perf_counter()
    X = P @ X
    S += X
    one = time.perf_counter() - t0
    steps = int(np.ceil(np.log(tol) / np.log(0.85)))
    return one, one * steps * int(np.ceil(n / BLOCK)), steps


def worker(args, method: str, out: str) -> dict:
    import numpy as np

    from leporid.init.graphbert import PUSH_EPS, intimacy_topk, push_topk, warm_up_kernels

    A = graph(args)
    n = A.shape[0]
    name, _, eps = method.partition(":")
    if name == "push":
        warm_up_kernels()  # a first-use compile is not part of the time
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    extra = {}
    t0 = time.perf_counter()
    if args.sources:
        cols = sample(n, args.sources)
        if name == "push":
            ctx = push_topk(A, args.k, eps=float(eps) if eps else PUSH_EPS, sources=cols)[0]
        elif name == "reference":
            ctx = reference_topk(A, cols, args.k, args.reference_tol)
        elif name == "series-estimate":
            one, total, steps = series_estimate(A)
            ctx = np.full((len(cols), args.k), -2, np.int64)  # no lists
            extra = {"one_product_s": one, "products_per_block": steps, "est_all_s": total}
        else:
            raise SystemExit(f"{method}: not available with --sources")
    else:
        kw = {"eps": float(eps)} if eps else {}
        ctx = intimacy_topk(A, args.k, method=name, **kw)
    seconds = time.perf_counter() - t0
    np.save(out, ctx)
    res = {"method": method, "nodes": n, "edges": A.nnz // 2, "seconds": seconds,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "rss_before_mb": before}
    if args.sources:
        res["sources"] = len(ctx)
        res["est_all_s"] = seconds * n / len(ctx)
    return res | extra


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--format", default=None)
    ap.add_argument("--protocol", default="kcore")
    ap.add_argument("--synthetic", nargs=3, type=int, metavar=("USERS", "ITEMS", "INTERACTIONS"))
    ap.add_argument("--methods", nargs="+", default=["exact", "series"])
    ap.add_argument("--sources", type=int, default=0, help="a sample of this many sources")
    ap.add_argument("--reference-tol", type=float, default=1e-11)
    ap.add_argument("--k", type=int, default=7)
    ap.add_argument("--json", default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--graph", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args, args.worker, args.out)))
        return
    if bool(args.dataset) == bool(args.synthetic):
        ap.error("give --dataset or --synthetic")
    results, contexts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        common = ["--k", str(args.k), "--sources", str(args.sources), "--reference-tol",
                  str(args.reference_tol)]
        if args.synthetic:
            import scipy.sparse as sp

            from leporid.data.synthetic import power_law_interactions
            from leporid.init.node2vec import interaction_graph

            t0 = time.perf_counter()
            X = power_law_interactions(*args.synthetic, seed=11).to_csr()
            path = str(Path(tmp) / "graph.npz")
            sp.save_npz(path, interaction_graph(X))
            print(f"synthetic graph: {X.shape[0]:,} x {X.shape[1]:,} users x items, "
                  f"{X.nnz:,} interactions ({time.perf_counter() - t0:.0f} s to build)",
                  flush=True)
            del X
            common += ["--synthetic", *map(str, args.synthetic), "--graph", path]
        else:
            common += ["--dataset", args.dataset, "--protocol", args.protocol] + \
                (["--format", args.format] if args.format else [])
        for method in args.methods:
            out = str(Path(tmp) / f"{method}.npy")
            cmd = [sys.executable, __file__, "--worker", method, "--out", out] + common
            r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
            if r.returncode != 0:
                sys.exit(f"{method}: {r.stderr.strip()}")
            res = json.loads(r.stdout.strip().splitlines()[-1])
            ctx = np.load(out)
            if "one_product_s" in res:
                line = (f"{method:16s} all: {res['est_all_s'] / 60:7.1f} min (one product of a "
                        f"{BLOCK}-column block {res['one_product_s']:.1f} s, x "
                        f"{res['products_per_block']} per block, x blocks)")
            else:
                line = f"{method:16s} {res['seconds']:8.1f} s"
            if args.sources and "one_product_s" not in res:
                line += f" for {res['sources']} sources (all: {res['est_all_s'] / 60:7.1f} min)"
            line += f"  peak {res['peak_rss_mb']:6.0f} MB (before {res['rss_before_mb']:.0f})"
            if "one_product_s" not in res and contexts:
                same = ctx == contexts[0]
                res["same_lists"] = float(same.all(axis=1).mean())
                res["same_entries"] = float(same.mean())
                res["same_sets"] = float(np.mean([set(a) == set(b)
                                                  for a, b in zip(ctx, contexts[0])]))
                line += (f"  identical to {args.methods[0]}: {100 * res['same_lists']:.2f}% "
                         f"lists, {100 * res['same_entries']:.3f}% entries, "
                         f"{100 * res['same_sets']:.2f}% sets")
            if "one_product_s" not in res:
                contexts.append(ctx)
            results.append(res)
            print(line, flush=True)
    print(f"({results[0]['nodes']:,} nodes, {results[0]['edges']:,} edges, k = {args.k})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

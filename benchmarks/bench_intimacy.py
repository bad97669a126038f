"""Graph-Bert's intimacy contexts (``leporid.init.graphbert.intimacy_topk``) on one dataset's
training interaction graph: wall time and peak memory of each method (each in its own
subprocess), and how far their context lists agree with the first method's.

    python benchmarks/bench_intimacy.py --dataset ../shared/datasets/ml-1m/ml-1m.pairs.txt \\
        --format steam-seq --protocol authors --methods exact series

Data: the TRAIN part of ``leporid.data.prepare`` under ``--protocol``. Peak memory is the
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


def worker(dataset: str, fmt: str | None, protocol: str, method: str, k: int, out: str) -> dict:
    import numpy as np

    from leporid.data import load, prepare
    from leporid.init.graphbert import intimacy_topk
    from leporid.init.node2vec import interaction_graph

    A = interaction_graph(prepare(load(dataset, fmt), protocol=protocol).train)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    ctx = intimacy_topk(A, k, method=method)
    seconds = time.perf_counter() - t0
    np.save(out, ctx)
    return {"method": method, "nodes": A.shape[0], "edges": A.nnz // 2, "seconds": seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_before_mb": before}


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--format", default=None)
    ap.add_argument("--protocol", default="kcore")
    ap.add_argument("--methods", nargs="+", default=["exact", "series"])
    ap.add_argument("--k", type=int, default=7)
    ap.add_argument("--json", default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.dataset, args.format, args.protocol, args.worker, args.k,
                                args.out)))
        return
    results, contexts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for method in args.methods:
            out = str(Path(tmp) / f"{method}.npy")
            cmd = [sys.executable, __file__, "--worker", method, "--dataset", args.dataset,
                   "--protocol", args.protocol, "--k", str(args.k), "--out", out] + \
                (["--format", args.format] if args.format else [])
            r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
            if r.returncode != 0:
                sys.exit(f"{method}: {r.stderr.strip()}")
            res = json.loads(r.stdout.strip().splitlines()[-1])
            contexts.append(np.load(out))
            same = (contexts[-1] == contexts[0])
            res["same_lists"] = float(same.all(axis=1).mean())
            res["same_entries"] = float(same.mean())
            results.append(res)
            print(f"{method:7s} {res['seconds']:8.1f} s  peak {res['peak_rss_mb']:6.0f} MB "
                  f"(before {res['rss_before_mb']:.0f})  identical to {args.methods[0]}: "
                  f"{100 * res['same_lists']:.3f}% lists, {100 * res['same_entries']:.4f}% "
                  f"entries", flush=True)
    print(f"({results[0]['nodes']} nodes, {results[0]['edges']} edges, k = {args.k})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

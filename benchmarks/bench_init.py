"""Every initialisation scheme of ``leporid.init`` on one dataset: wall time and peak memory,
each scheme in its own subprocess (cache off, so nothing is reused; numba kernels are compiled
by a warm-up on a tiny matrix first, so compile time is not counted).

    python benchmarks/bench_init.py                                  # ml-100k, every scheme
    python benchmarks/bench_init.py --dataset ../shared/datasets/ml-1m/ml-1m.pairs.txt \\
        --format steam-seq --schemes svd netmf le leporid node2vec bpr random

Data: the TRAIN part of the 20-core 70/10/20 split (``leporid.data.prepare``). 𝒟 = 64, seed 123,
each scheme's default parameters unless ``--param scheme.key=value``. Peak memory is the
child's ``ru_maxrss`` (includes the loaded data and imported libraries; ``rss_before_mb`` is
the level before the scheme ran).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ML100K = Path(__file__).resolve().parents[2] / "shared/datasets/ml-100k/ml-100k.inter"


def worker(dataset: str, fmt: str | None, scheme: str, dim: int, params: dict) -> dict:
    import numpy as np

    from leporid.data import load, prepare
    from leporid.data.synthetic import power_law_interactions
    from leporid.init import compute

    tiny = power_law_interactions(40, 30, 300, min_per_user=3, seed=1).to_csr()
    warm = {"n_neighbors": 5} if scheme in ("le", "leporid", "netmf") else {}
    if scheme in ("node2vec",):
        warm = {"walk_length": 5, "walks_per_node": 1}
    if scheme not in ("graphbert", "bpr"):
        compute(scheme, tiny, 4, 1, warm, cache=False)  # numba compilation, not timed
    X = prepare(load(dataset, fmt)).train
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    e = compute(scheme, X, dim, 123, params, cache=False)
    total = time.perf_counter() - t0
    return {"scheme": scheme, "users": X.shape[0], "items": X.shape[1], "interactions": X.nnz,
            "seconds": total, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            / 1024, "rss_before_mb": before, "params": e.params,
            "finite": bool(np.isfinite(e.user).all() and np.isfinite(e.item).all()),
            "timings_s": e.info.get("timings_s", {})}


def main() -> None:
    from leporid.init import available

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=str(ML100K))
    ap.add_argument("--format", default=None)
    ap.add_argument("--schemes", nargs="+", default=available())
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--param", action="append", default=[], metavar="SCHEME.KEY=VALUE")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per scheme")
    ap.add_argument("--json", default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    params: dict[str, dict] = {}
    for text in args.param:
        key, _, value = text.partition("=")
        scheme, _, name = key.partition(".")
        params.setdefault(scheme, {})[name] = json.loads(value) if value[:1].isdigit() \
            or value in ("true", "false") else value
    if args.worker:
        print(json.dumps(worker(args.dataset, args.format, args.worker, args.dim,
                                params.get(args.worker, {}))))
        return
    results = []
    print(f"{'scheme':10s} {'seconds':>8s} {'peak MB':>8s} {'before MB':>9s}  details")
    for scheme in args.schemes:
        cmd = [sys.executable, __file__, "--worker", scheme, "--dataset", args.dataset,
               "--dim", str(args.dim)] + (["--format", args.format] if args.format else []) \
            + [f"--param={p}" for p in args.param]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ,
                               timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"{scheme:10s} > {args.timeout:.0f} s (stopped)", flush=True)
            results.append({"scheme": scheme, "error": f"timeout {args.timeout} s"})
            continue
        if r.returncode != 0:
            print(f"{scheme:10s} ERROR {r.stderr.strip().splitlines()[-1:]}", flush=True)
            results.append({"scheme": scheme, "error": r.stderr.strip().splitlines()[-1:]})
            continue
        out = json.loads(r.stdout.strip().splitlines()[-1])
        results.append(out)
        detail = ", ".join(f"{k} {v:.1f}s" for k, v in out["timings_s"].items())
        print(f"{scheme:10s} {out['seconds']:8.1f} {out['peak_rss_mb']:8.0f} "
              f"{out['rss_before_mb']:9.0f}  {detail}", flush=True)
    if results and "users" in results[0]:
        r = results[0]
        print(f"({r['users']} users x {r['items']} items, {r['interactions']} training "
              f"interactions, dim {args.dim})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

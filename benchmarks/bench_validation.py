"""DLR² validation cost: full-ranking S scoring per user, extrapolated to a whole validation.

    python benchmarks/bench_validation.py [--users 64] [--ml1m] [--threads 1]

Builds an (untrained, seeded) DLR² on the synthetic 20k users x 10k items set
(``power_law_interactions``, 20-core split) and, with ``--ml1m``, on ML-1M
(``/work/shared/datasets/ml-1m/ml-1m.pairs.txt``, steam-seq format); times ``score`` of
``--users`` validation users (S on every item; first layer split, item half once per call) in
float32 and under bf16 autocast, and prints the projected time of one validation with every
validation user and with the model-selection subset (``selection_pairs``, default 25M pairs).
A full validation at this size takes many minutes on 2 shared cores, hence the projection:
the cost is linear in users (same work per user).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def measure(split, name: str, n_users: int) -> None:
    from leporid.models.dlr2 import DLR2
    from leporid.train.loop import selection_users

    m = DLR2(bf16=False)
    m._build(split)
    val = np.flatnonzero(np.diff(split.validation.indptr) > 0)
    users = val[:n_users]
    m.score(users[:4], "validation")                     # warm-up
    t = time.perf_counter()
    ref = torch.as_tensor(m.score(users, "validation"))
    per_user = (time.perf_counter() - t) / len(users)
    m.bf16_ = True
    with torch.autocast("cpu", dtype=torch.bfloat16):
        t = time.perf_counter()
        low = torch.as_tensor(m.score(users, "validation"))
        per_user_bf16 = (time.perf_counter() - t) / len(users)
    top_ref, top_low = ref.topk(10).indices, low.topk(10).indices
    overlap = np.mean([len(set(a.tolist()) & set(b.tolist())) / 10
                       for a, b in zip(top_ref, top_low)])
    sub = selection_users(m, split)
    n_sel = len(val) if sub is None else len(sub)
    print(f"{name}: {split.n_users} users x {split.n_items} items, {len(val)} validation users")
    print(f"  float32: {per_user * 1000:.1f} ms/user -> all users {per_user * len(val):.0f} s, "
          f"selection subset ({n_sel} users) {per_user * n_sel:.0f} s")
    print(f"  bf16 S:  {per_user_bf16 * 1000:.1f} ms/user ({per_user / per_user_bf16:.2f}x), "
          f"top-10 overlap with float32 {overlap:.3f}, max |diff| "
          f"{(low - ref).abs().max().item():.2e}", flush=True)


def main() -> None:
    from leporid.data import load, prepare
    from leporid.data.synthetic import power_law_interactions

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ml1m", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    syn = prepare(power_law_interactions(20_000, 10_000, 1_000_000, min_per_user=20, seed=123))
    measure(syn, "synthetic", args.users)
    if args.ml1m:
        ml = prepare(load("/work/shared/datasets/ml-1m/ml-1m.pairs.txt", "steam-seq"))
        measure(ml, "ML-1M", args.users)


if __name__ == "__main__":
    main()

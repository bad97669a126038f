"""DGCF training-step speed (prints it): one forward + backward of the full loss on a dataset,
with the hand-written sparse backward of ``leporid.models.dgcf`` and, for comparison, with
PyTorch's own autograd through ``torch.sparse.mm`` (same forward).

    python benchmarks/bench_dgcf.py --dataset ml-100k.inter [--threads 2] [--repeat 5]

Both variants run alternately in one process, so the ratio is meaningful even on a loaded
machine; absolute times are not.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def autograd_propagate(weights, graph, x_users, x_items):
    """The same product, differentiated by PyTorch (sparse COO values need grad)."""
    from leporid.models import dgcf

    n_users = x_users.shape[1]
    x = torch.cat([x_users, x_items], 1)
    y = torch.sparse.mm(dgcf._block_matrix(weights, graph), x.reshape(-1, x.shape[-1]))
    y = y.reshape(x.shape)
    return y[:, :n_users], y[:, n_users:]


def main() -> None:
    from leporid.data import load, prepare
    from leporid.models import dgcf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=8192)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    split = prepare(load(args.dataset))
    model = dgcf.DGCF(batch_size=args.batch_size, threads=args.threads)
    model._build(split)
    batch = model.batches(np.random.default_rng(0))[0]
    print(f"# {split.n_users} users x {split.n_items} items, {split.train.nnz} edges, "
          f"dim {model.dim}, K {model.factors}, T {model.routing_iterations}, "
          f"L {model.layers}, {args.threads} threads")
    own = dgcf.bipartite_propagate
    times = {"hand-written backward": [], "torch sparse autograd": []}
    for _ in range(args.repeat):
        for name, fn in (("hand-written backward", own), ("torch sparse autograd",
                                                           autograd_propagate)):
            dgcf.bipartite_propagate = fn
            model.network_.zero_grad()
            t = time.perf_counter()
            model.batch_loss(batch).backward()
            times[name].append(time.perf_counter() - t)
    dgcf.bipartite_propagate = own
    for name, ts in times.items():
        print(f"{name:24s} median {np.median(ts):.3f} s/step  (min {min(ts):.3f})")
    ratio = np.median(times["torch sparse autograd"]) / np.median(times["hand-written backward"])
    print(f"ratio (torch / hand-written): {ratio:.2f}")


if __name__ == "__main__":
    main()

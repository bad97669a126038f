"""Embedding-family models (NCF, NGCF, LightGCN, BPR-MF, ...) trained to early stopping with
their defaults: epoch time, epochs, wall time and test metrics (prints one JSON line per run).

    python benchmarks/bench_embedding_models.py --dataset ml-100k.inter --model ngcf --init random
    python benchmarks/bench_embedding_models.py --model lightgcn --init leporid --param lr=1e-2
    python benchmarks/bench_embedding_models.py --model ngcf --init leporid --init-param output=raw
    python benchmarks/bench_embedding_models.py --dataset ml-1m.pairs.txt --format steam-seq \
        --protocol authors --model hgn --init leporid          # the paper's ML-1M as it ran it

``epoch_s`` is the mean training time of one epoch (optimizer steps only, from the loop's
``steps_per_s``); ``wall_s`` the whole fit (initialiser, training, every validation).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ml-latest-small")
    ap.add_argument("--format", default=None)
    ap.add_argument("--protocol", default="kcore", choices=("kcore", "authors"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--init", default="random")
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--init-param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default=None)
    args = ap.parse_args(argv)

    import torch

    from leporid.cli.evaluate_cmd import parse_param
    from leporid.data import load, prepare
    from leporid.eval import evaluate
    from leporid.models import make_model

    split = prepare(load(args.dataset, args.format), protocol=args.protocol)
    params = dict(parse_param(t) for t in args.param)
    if args.init_param:
        params["init_params"] = dict(parse_param(t) for t in args.init_param)
    if args.threads:
        params["threads"] = args.threads
    if args.device:
        params["device"] = args.device
    model = make_model(args.model, init=args.init, seed=args.seed, **params)
    import sys

    from leporid.train.loop import format_entry

    t = time.perf_counter()
    model.fit(split, callbacks=[lambda e: print(format_entry(e, model.metric), file=sys.stderr,
                                                flush=True)])
    wall = time.perf_counter() - t
    h = model.history_
    per_epoch = [e["step"] / e["epoch"] / e["steps_per_s"] for e in h if e.get("steps_per_s")]
    best = [e for e in h if e["best"]][-1]
    res = evaluate(model, split, "test")
    row = {"dataset": os.path.basename(str(args.dataset)), "protocol": args.protocol,
           "model": args.model, "init": args.init, "seed": args.seed, "params": params,
           "device": str(model.device), "threads": model.threads,
           "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
           "torch": torch.__version__,
           "epoch_s": round(sum(per_epoch) / max(len(per_epoch), 1), 3),
           "epochs": h[-1]["epoch"], "best_epoch": best["epoch"], "wall_s": round(wall, 1),
           "val_" + model.metric: round(best["validation"][model.metric], 4),
           **{k: round(res["all"][k], 4) for k in ("HR@5", "HR@10", "F1@5", "F1@10",
                                                    "NDCG@10")},
           "tail_HR@10": round(res["tail"]["HR@10"], 4)}
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

r"""DLR² speed and accuracy figures (prints them; writes JSON with --out).

    python benchmarks/bench_dlr2.py epoch --dataset ml-100k.inter            # one epoch, windows/s
    python benchmarks/bench_dlr2.py epoch --dataset ml-100k.inter --bf16 off --nchw
    python benchmarks/bench_dlr2.py full --dataset ml-100k.inter             # default training run
    python benchmarks/bench_dlr2.py inits --dataset ml-latest-small --seeds 123 124 125
    python benchmarks/bench_dlr2.py inits --inits random --seeds 123 --param lr=5e-4
    python benchmarks/bench_dlr2.py ablation --inits leporid --seeds 123 124 --variants \
        revnet noconv

``epoch`` times one pass over the training windows (training steps only; the closing validation
is timed separately). ``full`` trains ``DLR2`` with its defaults (plus any ``--param``) and
reports the wall time and the test metrics. ``inits`` trains DLR² per initialiser and seed
and prints test HR@5/10, F1@5/10 and tail HR@10 as mean ± std over the seeds; ``ablation``
does the same for the variants of Tables 6 and 7 (architectures, losses, ranking with G,
frozen embeddings, the paper's zero margins).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np

INITS = ("random", "le", "leporid")
COLUMNS = ("HR@5", "HR@10", "F1@5", "F1@10", "NDCG@10")


def _split(args):
    from leporid.data import load, prepare

    t = time.perf_counter()
    split = prepare(load(args.dataset), min_count=args.min_count)
    print(f"# {args.dataset}: {split.n_users} users x {split.n_items} items, "
          f"{split.train.nnz} training interactions ({time.perf_counter() - t:.1f}s to load)")
    return split


def _params(args) -> dict:
    from leporid.cli.evaluate_cmd import parse_param

    p = dict(parse_param(t) for t in args.param)
    if args.bf16 != "auto":
        p["bf16"] = args.bf16 == "on"
    if args.nchw:
        p["channels_last"] = False
    if args.threads:
        p["threads"] = args.threads
    if args.device:
        p["device"] = args.device
    return p


def _machine() -> str:
    import torch

    dev = (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads, {dev}, "
            f"load avg {load:.1f}")


def bench_epoch(args) -> dict:
    from leporid.data.sequences import sliding_windows
    from leporid.models.dlr2 import DLR2

    split = _split(args)
    params = _params(args)
    indptr, items = split.sequences("train")
    n_win = len(sliding_windows(indptr, items, params.get("seq_len", 5), split.n_items)[2])
    batch = params.pop("batch_size", 128)
    steps = math.ceil(n_win / batch)
    out = []
    for rep in range(args.repeat):
        t = time.perf_counter()
        hist = DLR2(init="random", seed=args.seed, batch_size=batch, iterations=steps,
                    eval_every=steps, **params).fit(split).history_
        wall = time.perf_counter() - t
        wps = hist[-1]["steps_per_s"] * batch
        row = {"windows": n_win, "batch_size": batch, "steps": steps,
               "epoch_seconds": round(n_win / wps, 2), "windows_per_s": wps,
               "wall_seconds_incl_setup_and_validation": round(wall, 2), **params}
        print(f"epoch {rep + 1}: {n_win} windows in {row['epoch_seconds']:.1f}s of training "
              f"steps = {wps:.0f} windows/s (wall {wall:.1f}s incl. setup + 1 validation)")
        out.append(row)
    return {"epoch": out}


def bench_full(args) -> dict:
    from leporid.eval import evaluate
    from leporid.models.dlr2 import DLR2

    split = _split(args)
    params = _params(args)
    t = time.perf_counter()
    model = DLR2(init=args.inits[0], seed=args.seed, **params).fit(
        split, progress=sys.stderr.isatty())
    hist = model.history_
    wall = time.perf_counter() - t
    test = evaluate(model, split, "test")
    row = {"init": args.inits[0], "seconds": round(wall, 1), "validations": len(hist),
           "best_step": max(hist, key=lambda e: e["validation"][model.metric])["step"],
           **{k: test["all"][k] for k in COLUMNS}, "tail HR@10": test["tail"]["HR@10"],
           "config": model.get_params()}
    print(f"full default run ({args.inits[0]}): {wall:.1f}s, {len(hist)} validations; test "
          + "  ".join(f"{k} {row[k]:.4f}" for k in COLUMNS))
    return {"full": row}


VARIANTS = {
    "default": {},
    "paper margins 0": {"margin_s": 0.0, "margin_g": 0.0},
    "revnet": {"arch": "revnet"},
    "onlyconv": {"arch": "onlyconv"},
    "noconv": {"arch": "noconv"},
    "L_S only": {"loss": "s"},
    "L_G only, rank with G": {"loss": "g", "score_with": "g"},
    "both losses, rank with G": {"score_with": "g"},
    "frozen embeddings": {"freeze_embeddings": True},
}


def _train_runs(split, inits, seeds, variants: dict, params: dict) -> list[dict]:
    from leporid.eval import evaluate
    from leporid.init import initialize
    from leporid.models.dlr2 import DLR2

    dim = params.get("dim", 64)
    runs = []
    for init in inits:
        for seed in seeds:
            t = time.perf_counter()
            emb = initialize(init, split.train, dim, seed)
            t_init = time.perf_counter() - t
            for name, extra in variants.items():
                t = time.perf_counter()
                model = DLR2(init=emb, seed=seed, **{**params, **extra}).fit(split)
                hist = model.history_
                seconds = time.perf_counter() - t + t_init
                res = evaluate(model, split, "test")
                metric = model.metric
                run = {"variant": name, "init": init, "seed": seed,
                       "init_seconds": round(t_init, 1), "seconds": round(seconds, 1),
                       "epochs_run": hist[-1]["epoch"],
                       **{k: res["all"][k] for k in COLUMNS},
                       "tail HR@10": res["tail"]["HR@10"],
                       "val " + metric: max(e["validation"][metric] for e in hist)}
                print(f"{name:>24} {init:>8} seed {seed}: "
                      + "  ".join(f"{k} {run[k]:.4f}" for k in COLUMNS)
                      + f"  tail HR@10 {run['tail HR@10']:.4f}  ({seconds:.0f}s incl. init "
                        f"{t_init:.0f}s, {run['epochs_run']} epochs)", flush=True)
                runs.append(run)
    return runs


def _summary(runs: list[dict]) -> list[dict]:
    """mean ± sample std over seeds per (variant, init), printed as a Markdown table."""
    cols = list(COLUMNS) + ["tail HR@10", "seconds"]
    print("\n| variant | init | seeds | " + " | ".join(cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    summary = []
    for key in dict.fromkeys((r["variant"], r["init"]) for r in runs):
        rs = [r for r in runs if (r["variant"], r["init"]) == key]
        row = {"variant": key[0], "init": key[1], "seeds": len(rs)}
        cells = []
        for c in cols:
            v = np.array([r[c] for r in rs], float)
            row[c] = [float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0]
            cells.append(f"{v.mean():.0f}" if c == "seconds" else
                         f"{v.mean():.4f} ± {row[c][1]:.4f}")
        summary.append(row)
        print(f"| {key[0]} | {key[1]} | {len(rs)} | " + " | ".join(cells) + " |")
    return summary


def bench_inits(args) -> dict:
    split, params = _split(args), _params(args)
    runs = _train_runs(split, args.inits, args.seeds, {"default": {}}, params)
    return {"inits": runs, "summary": _summary(runs), "params": params}


def bench_ablation(args) -> dict:
    split, params = _split(args), _params(args)
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    variants = {k: VARIANTS[k] for k in args.variants}
    runs = _train_runs(split, args.inits, args.seeds, variants, params)
    return {"ablation": runs, "summary": _summary(runs), "params": params}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("epoch", "full", "inits", "ablation"))
    p.add_argument("--dataset", default="ml-latest-small")
    p.add_argument("--min-count", type=int, default=20)
    p.add_argument("--inits", nargs="+", default=list(INITS))
    p.add_argument("--seeds", nargs="+", type=int, default=[123])
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS),
                   help="ablation: which variants (default all): " + ", ".join(VARIANTS))
    p.add_argument("--repeat", type=int, default=1, help="epoch: how many timed epochs")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="DLR2 parameter (repeatable), e.g. batch_size=256")
    p.add_argument("--bf16", default="auto", choices=("auto", "on", "off"))
    p.add_argument("--nchw", action="store_true", help="channels_last=False")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"# {_machine()}")
    res = {"epoch": bench_epoch, "full": bench_full, "inits": bench_inits,
           "ablation": bench_ablation}[args.what](args)
    if args.out:
        from leporid.results import write_json

        write_json(args.out, {"machine": _machine(), "args": vars(args), **res})
    return 0


if __name__ == "__main__":
    sys.exit(main())

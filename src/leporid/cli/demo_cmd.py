"""``leporid demo``: the paper's central comparison on the bundled dataset, in minutes.

DLR² initialised with LEPORID, LE and random embeddings against tuned ItemKNN, UserKNN and
TopPop, on the bundled ml-latest-small (or any ``--dataset``), printed as one table and
written to ``--out``. Each finished row is stored as it completes, so an interrupted demo
resumes where it stopped (``--fresh`` starts over).
"""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
import time
from pathlib import Path

from .common import (
    DefaultsHelpFormatter,
    add_dataset_args,
    add_progress_arg,
    add_seed_arg,
    check_output_dir,
    int_option,
)
from .reproduce_cmd import _seeds

#: DLR² epochs at most in the demo (three trainings; see benchmarks/README.md, "DLR² budget")
DEMO_EPOCHS = 4

COLUMNS = ["model", "init", "HR@5", "HR@10", "F1@5", "F1@10", "NDCG@10", "tail HR@10",
           "seconds"]


def register(sub) -> None:
    p = sub.add_parser(
        "demo", help="DLR² with LEPORID / LE / random init vs tuned KNN and TopPop",
        description=__doc__.split("\n\n")[1].replace("\n", " ").replace("``", ""),  # reST -> plain
        formatter_class=DefaultsHelpFormatter)
    add_dataset_args(p)
    add_seed_arg(p)
    add_progress_arg(p)
    p.add_argument("--seeds", type=_seeds, default=None, metavar="SEEDS",
                   help="comma-separated training seeds, e.g. 123,124,125: every model is "
                        "trained once per seed and the verdicts need 3 or more (default: "
                        "--seed alone, so the verdicts are inconclusive)")
    p.add_argument("--trials", type=int_option(1), default=30,
                   help="validation trials for each KNN model's hyperparameter search")
    p.add_argument("--epochs", type=int_option(1), default=None,
                   help="DLR² training epochs at most (default 4; early stopping may end sooner)")
    p.add_argument("--neighbors", type=int_option(1), default=1000,
                   help="K of the LEPORID / LE graphs")
    p.add_argument("--dim", type=int_option(1), default=64, help="embedding dimension 𝒟")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="cpu, cuda or auto")
    p.add_argument("--out", default="results/demo", help="output directory")
    p.add_argument("--fresh", action="store_true", help="ignore rows stored by an earlier run")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 3 trials per KNN, 1 DLR² epoch (not for conclusions)")
    p.set_defaults(func=run)


def _metrics_row(model: str, init: str, result: dict, seconds: float) -> dict:
    a, t = result["all"], result["tail"]
    return {"model": model, "init": init, "HR@5": a["HR@5"], "HR@10": a["HR@10"],
            "F1@5": a["F1@5"], "F1@10": a["F1@10"], "NDCG@10": a["NDCG@10"],
            "tail HR@10": t["HR@10"], "seconds": int(round(seconds)),
            "per_user HR@10": [float(x) for x in result["per_user"]["HR@10"]]}


def _mean_row(rows: list[dict]) -> dict:
    """One table row from a row per seed: the metrics and seconds averaged, the seed count."""
    out = dict(rows[0])
    for k in COLUMNS[2:]:
        out[k] = sum(r[k] for r in rows) / len(rows)
    out["seconds"] = int(round(out["seconds"]))
    out["seeds"] = len(rows)
    return out


class _RowStore:
    """One JSON file per finished row, keyed by everything that determines the row."""

    def __init__(self, folder: Path, base: dict, fresh: bool):
        self.folder, self.base, self.fresh = folder, base, fresh

    def _path(self, key: dict) -> Path:
        blob = json.dumps({**self.base, **key}, sort_keys=True, default=str)
        return self.folder / f"{key['row']}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}.json"

    def get(self, key: dict):
        p = self._path(key)
        if self.fresh or not p.exists():
            return None
        try:
            row = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):   # ValueError: bad JSON or bytes that are not UTF-8
            row = None
        if not isinstance(row, dict):   # a damaged row is recomputed (and replaced), not fatal
            print(f"leporid demo: note: {p} is damaged; computing that row again",
                  file=sys.stderr)
            return None
        return row

    def put(self, key: dict, row: dict) -> None:
        from ..results import write_json
        write_json(self._path(key), row)


#: the demo's claims: DLR² + LEPORID against each of these rows (the best classic model is
#: the tuned classic model with the highest mean test HR@10)
CLAIMS = (("dlr2-random", "DLR² + LEPORID beats DLR² + random initialisation"),
          ("dlr2-le", "DLR² + LEPORID beats DLR² + LE initialisation"),
          ("classic", "DLR² + LEPORID beats the best tuned classic model ({})"))


def _verdicts(per_user: dict, rows: dict) -> list[dict]:
    """The demo's claims under ``leporid.experiments.stats`` (seeds and users; per-user HR@10
    of each run)."""
    import numpy as np

    from ..experiments.stats import claim, compare

    def runs(name):
        return np.array(per_user[name])
    best = max(("toppop", "itemknn", "userknn"),
               key=lambda n: np.mean([r["HR@10"] for r in rows[n]]))
    out = []
    for other, text in CLAIMS:
        name = best if other == "classic" else other
        comp = compare(runs("dlr2-leporid"), runs(name))
        comp.update(what=f"DLR² + LEPORID vs {name.replace('dlr2-', 'DLR² + ')}",
                    metric="HR@10")
        out.append(claim(f"demo/{other}", text.format(best), [comp]))
    return out


def _print_verdicts(claims: list[dict], n_seeds: int) -> None:
    from ..experiments.stats import verdict_text

    print(f"\nVerdicts (per-user test HR@10; {n_seeds} seed{'s' * (n_seeds > 1)}; seeds and "
          "users accounted for, see docs/statistics.md):")
    for c in claims:
        comp = c["comparisons"][0]
        lo, hi = comp["ci"]
        ci = f", 95% CI {lo:+.4f} … {hi:+.4f}" if lo is not None else ""
        print(f"  {c['text']}: {verdict_text(c)}; Δ {comp['mean_diff']:+.4f}{ci}")
        if comp.get("forced"):
            print(f"    secondary, not a verdict: user-level test of these trained models, "
                  f"Wilcoxon p = {comp['user_level']['p']:.3g}")
    if n_seeds < 3:
        print("  a verdict needs 3+ seeds per method: e.g. `leporid demo --seeds 123,124,125`")


def run(args) -> int:

    from ..data import dataset_statistics, format_statistics
    from ..eval import evaluate
    from ..init.spectral_estimators import LaplacianEigenmaps, LeporidEmbedding
    from ..models.dlr2 import DLR2
    from ..results import atomic_save_npy, atomic_write, markdown_table, provenance, write_table
    from ..train.tuning import tune_model
    from .common import load_split

    t_start = time.perf_counter()
    trials = 3 if args.quick else args.trials
    # the demo's own DLR² budget: at most DEMO_EPOCHS epochs (early stopping may end sooner),
    # so that three trainings fit the demo's 10 minutes on 2 cores
    dlr2_config = {"epochs": 1 if args.quick else (args.epochs or DEMO_EPOCHS)}
    out = check_output_dir(args.out)
    from ..utils.device import resolve_device

    resolve_device(args.device, "--device")  # CUDA asked for where there is none: before work
    split = load_split(args)
    print(format_statistics(dataset_statistics(split)), flush=True)
    fingerprint = split.fingerprint()
    config = {"dataset": str(args.dataset), "min_count": args.min_count,
              "protocol": split.protocol, "trials": trials,
              "neighbors": args.neighbors, "dim": args.dim, "dlr2": dlr2_config}
    seeds = list(args.seeds or (args.seed,))
    store = _RowStore(out / "rows", {"fingerprint": fingerprint, **config}, args.fresh)
    per_seed: dict[str, list[dict]] = {}         # row name -> one row per seed
    per_user: dict[str, list] = {}              # row name -> per-user test HR@10 per seed

    def keep(name: str, row: dict) -> None:
        per_user.setdefault(name, []).append(row.pop("per_user HR@10"))
        per_seed.setdefault(name, []).append(row)

    # 1. LEPORID and LE embeddings of the training data (once: the seeds vary the training)
    embeddings = {}
    print(f"\n== LEPORID / LE embeddings (K={args.neighbors}, 𝒟={args.dim})", flush=True)
    for name, cls in (("leporid", LeporidEmbedding), ("le", LaplacianEigenmaps)):
        est = cls(n_components=args.dim, n_neighbors=args.neighbors, device=args.device,
                  seed=seeds[0]).fit(split)
        embeddings[name] = (est.user_embeddings_, est.item_embeddings_)
        atomic_save_npy(out / "embeddings" / f"{name}_user_embeddings.npy", est.user_embeddings_)
        atomic_save_npy(out / "embeddings" / f"{name}_item_embeddings.npy", est.item_embeddings_)
        tm = est.timings_
        print(f"  {name:8s} users: graph {tm['user_graph']:.2f}s + eigen {tm['user_eigen']:.2f}s, "
              f"max residual {est.user_residuals_.max():.1e}; items: graph {tm['item_graph']:.2f}s"
              f" + eigen {tm['item_eigen']:.2f}s, max residual {est.item_residuals_.max():.1e}",
              flush=True)

    for seed in seeds:
        at = f" (seed {seed})" if len(seeds) > 1 else ""
        # 2. classic baselines, tuned on validation, tested once
        for name in ("toppop", "itemknn", "userknn"):
            key = {"row": name, "trials": 1 if name == "toppop" else trials, "seed": seed}
            row = store.get(key)
            if row is None:
                print(f"\n== {name}{at}: {key['trials']} validation trial(s)", flush=True)
                t0 = time.perf_counter()
                res = tune_model(name, split, n_trials=key["trials"], seed=seed,
                                 progress=not args.no_progress)
                test = evaluate(res["model"], split, "test", per_user=True)
                row = _metrics_row(name, "-", test, time.perf_counter() - t0)
                row["params"] = res["best_params"]
                store.put(key, row)
            else:
                print(f"\n== {name}{at}: stored result reused", flush=True)
            keep(name, row)

        # 3. DLR² with each initialisation
        for init in ("leporid", "le", "random"):
            key = {"row": f"dlr2-{init}", "seed": seed}
            row = store.get(key)
            if row is None:
                print(f"\n== DLR² with {init} initialisation{at}", flush=True)
                t0 = time.perf_counter()
                given = embeddings.get(init)
                model = DLR2(init=init if given is None else given, seed=seed, dim=args.dim,
                             **dlr2_config).fit(split, progress=not args.no_progress)
                row = _metrics_row("DLR²", init, evaluate(model, split, "test", per_user=True),
                                   time.perf_counter() - t0)
                store.put(key, row)
            else:
                print(f"\n== DLR² with {init}{at}: stored result reused", flush=True)
            keep(f"dlr2-{init}", row)

    rows = [_mean_row(rs) for rs in per_seed.values()]
    claims = _verdicts(per_user, per_seed)
    meta = provenance({**config, "command": "demo"}, seeds if len(seeds) > 1 else seeds[0],
                      fingerprint)
    meta.update(title="Demo: DLR² with LEPORID / LE / random initialisation vs tuned classic "
                      "models", claims=claims)
    # what the numbers show: last in the output, a note of the report's demo section
    closing = meta["notes"] = conclusion(rows, args.dataset)
    columns = COLUMNS + (["seeds"] if len(seeds) > 1 else [])
    paths = write_table(out / "demo", rows, meta, columns)
    print(f"\nTest set, all users (tail = the 25% of users with the fewest training "
          f"interactions); {split.n_users} users x {split.n_items} items:\n")
    print(markdown_table(rows, columns))
    _print_verdicts(claims, len(seeds))
    print(f"total {time.perf_counter() - t_start:.0f}s; wrote {paths['md']}, {paths['csv']}, "
          f"{paths['json']}")
    from ..experiments.report import write_report

    atomic_write(paths["md"], "\n\n".join([paths["md"].read_text().rstrip("\n"), *closing]) + "\n")
    report = write_report(out)
    print(f"report: {report['html']} (and {report['md']})\n")
    print("\n".join(textwrap.fill(p, 100) for p in closing))
    return 0


def conclusion(rows: list[dict], dataset) -> list[str]:
    """Closing paragraphs: what the table shows (DLR² by initialisation against the best tuned
    classic model, all and tail users) and what to run for evidence. One seed on one split
    shows a direction, not a difference; the paper's claims need seeds and paired tests."""
    def fmt(row):
        return f"HR@10 {row['HR@10']:.3f} (tail users {row['tail HR@10']:.3f})"

    names = {"leporid": "LEPORID", "le": "LE"}
    dlr2 = {names.get(r["init"], r["init"]): r for r in rows if r["model"] == "DLR²"}
    classic = [r for r in rows if r["model"] != "DLR²"]
    if not dlr2 or not classic:
        return []
    best = max(classic, key=lambda r: r["HR@10"])
    ranked = sorted(dlr2, key=lambda i: -dlr2[i]["HR@10"])
    lines = [f"What this shows: DLR² from {ranked[0]} embeddings is the best DLR² run, "
             f"{fmt(dlr2[ranked[0]])}; "
             + "; ".join(f"from {i}, {fmt(dlr2[i])}" for i in ranked[1:])
             + f". The best tuned classic model, {best['model']}, has {fmt(best)}."]
    seeds = max(int(r.get("seeds", 1)) for r in rows)
    if seeds < 3:
        lines.append(f"This is {'one training seed' if seeds == 1 else f'{seeds} seeds'} on one "
                     "split: a difference between two rows may be the seed's, not the method's, "
                     "so the table shows a direction, not evidence for or against the paper's "
                     "claims.")
    else:
        lines.append(f"These are means over {seeds} training seeds on one split; which "
                     "differences the seeds and users support is what the verdicts say.")
    name = "" if str(dataset) == "ml-latest-small" else f" --dataset {dataset}"
    more = (f"`leporid demo{name} --seeds 123,124,125` (every row trained 3 times; the verdicts "
            "then decide) or " if seeds < 3 else "")
    lines.append(f"For evidence, run {more}`leporid reproduce table4{name} --budget default` (3 "
                 "seeds, a verdict per claim of the paper; `table5` for the tail users), then "
                 "`leporid report results/`; on the paper's ML-1M, see docs/reproduce.md.")
    return lines

"""``leporid train``: train any registered neural model, select on validation, test once.

    leporid train --model dlr2 --dataset ml-latest-small --init leporid
    leporid train --model bpr --dataset data/ml-100k.inter --init leporid --param reg=1e-3
    leporid train --model dlr2 --dataset data/ml-100k.inter --init random --arch revnet --loss s
    leporid train --model bpr --tune --trials 20

Every option is checked before the data is loaded; a bad one exits with status 2 and one line.
This module imports neither torch nor the models while the parser is built.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .common import (
    KS,
    UsageError,
    add_dataset_args,
    add_export_args,
    add_param_arg,
    add_progress_arg,
    add_seed_arg,
    check_result_paths,
    load_split,
    result_stem,
    seed_part,
    show_progress,
    write_exports,
    write_results,
)

#: option -> model parameter, for the options that map one to one (given only when set)
_OPTIONS = {"dim": "dim", "epochs": "epochs", "iterations": "iterations",
            "batch_size": "batch_size", "lr": "lr", "weight_decay": "weight_decay",
            "metric": "metric", "evals_per_epoch": "evals_per_epoch", "eval_every": "eval_every",
            "patience": "patience", "threads": "threads", "device": "device",
            # DLR²'s own options (kept as flags; other models reject them by name)
            "arch": "arch", "loss": "loss", "margin_s": "margin_s", "margin_g": "margin_g",
            "g_distance": "g_distance", "score_with": "score_with", "g_metric": "g_metric",
            "seq_len": "seq_len"}


def register(sub) -> None:
    """Add the ``train`` sub-command."""
    from ..models import dlr2_options as dlr2
    from ..models import neural_models

    names = neural_models()
    p = sub.add_parser(
        "train", help="train a neural model (any initialisation), select on validation, test once",
        description="Train a neural model on the training part with model selection on the "
                    "validation part only, evaluate the selected model once on test (all and "
                    "tail users), print a table, write JSON + CSV + Markdown results and a "
                    "checkpoint. An interrupted run resumes from its training checkpoint. "
                    "Options left out take the model's defaults.")
    add_dataset_args(p)
    p.add_argument("--model", default="dlr2", help=f"one of {', '.join(names)} (default dlr2)")
    p.add_argument("--init", default="random",
                   help="initialiser of the user/item embeddings: leporid, le, random, ... "
                        "(see `leporid embed`; default random)")
    add_param_arg(p, "initialiser option, e.g. n_neighbors=1000 or alpha=0.7 (repeatable)",
                  option="--init-param")
    p.add_argument("--init-file", default=None, metavar="DIR",
                   help="start from the embeddings `leporid embed` wrote to DIR (rows matched "
                        "to this split by id; replaces --init)")
    add_param_arg(p, "model parameter, e.g. reg=1e-3 (repeatable; see the model's docstring)")
    p.add_argument("--freeze-embeddings", action="store_true",
                   help="keep the initial embeddings fixed (the authors' code for LE/LEPORID); "
                        "default: fine-tune them (the paper)")
    p.add_argument("--tune", action="store_true",
                   help="search lr, weight decay and the model's key parameters on validation "
                        "(optuna TPE), then test the best once")
    p.add_argument("--trials", type=int, default=20, help="tuning trials (default 20)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int, default=None, help="passes over the training data")
    budget.add_argument("--iterations", type=int, default=None,
                        help="optimizer steps instead of --epochs")
    p.add_argument("--batch-size", type=int, default=None, help="training batch size")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    p.add_argument("--weight-decay", type=float, default=None, help="Adam weight decay")
    p.add_argument("--dim", type=int, default=None, help="embedding size (default 64)")
    p.add_argument("--metric", default=None,
                   help="validation metric for model selection, e.g. HR@10, NDCG@5 "
                        "(k in 1, 5, 10; default HR@10)")
    p.add_argument("--evals-per-epoch", type=int, default=None, help="validations per epoch")
    p.add_argument("--eval-every", type=int, default=None,
                   help="steps between validations (overrides --evals-per-epoch)")
    p.add_argument("--patience", type=int, default=None,
                   help="validations without improvement before stopping")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads during training (default 1: robust on a busy "
                        "machine; try 2+ on a quiet one)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default cpu)")
    d = p.add_argument_group("DLR² options")
    d.add_argument("--arch", default=None, choices=dlr2.ARCHS,
                   help="feature network (Table 7; default resnet)")
    d.add_argument("--loss", default=None, choices=dlr2.LOSSES,
                   help="L_S + L_G, or one alone (Table 6; default both)")
    d.add_argument("--margin-s", type=float, default=None,
                   help="m_S of L_S (default 0.5, the authors' code; the paper's 0 lets S "
                        "collapse to 0)")
    d.add_argument("--margin-g", type=float, default=None, help="m_G of L_G (default 0.5)")
    d.add_argument("--g-distance", default=None, choices=dlr2.G_DISTANCES,
                   help="distance inside L_G (default euclidean)")
    d.add_argument("--score-with", default=None, choices=dlr2.SCORE_WITH,
                   help="rank items with S or with G (default s)")
    d.add_argument("--g-metric", default=None, choices=dlr2.G_METRICS,
                   help="distance to G(s) when ranking with G (default euclidean)")
    d.add_argument("--seq-len", type=int, default=None, help="l, items in the state (default 5)")
    d.add_argument("--bf16", default=None, choices=tuple(dlr2.BF16_CHOICES),
                   help="bfloat16 autocast in the feature network (default auto)")
    d.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                   default=None, help="NCHW instead of NHWC convolutions")
    add_seed_arg(p)
    add_progress_arg(p)
    p.add_argument("--out", default="results", help="results folder (default results/)")
    p.add_argument("--fresh", action="store_true",
                   help="ignore (and overwrite) an existing training checkpoint")
    add_export_args(p)
    p.set_defaults(func=run)


def check_metric(metric: str) -> None:
    """``metric`` names an evaluator metric at a k the evaluator computes, else UsageError."""
    from ..eval.metrics import METRICS

    short = {"P": "Precision", "R": "Recall"}
    name, _, k = str(metric).partition("@")
    if short.get(name, name) not in METRICS or not k.isdigit() or int(k) not in KS:
        raise UsageError(f"--metric {metric!r}: use NAME@K with NAME in {', '.join(METRICS)} "
                         f"and K in {', '.join(map(str, KS))}, e.g. HR@10")


def model_params(args, cls) -> dict:
    """The model parameters the options ask for, validated by building the model once."""
    params = {_OPTIONS[o]: getattr(args, o) for o in _OPTIONS if getattr(args, o, None) is not None}
    if getattr(args, "bf16", None) is not None:
        from ..models.dlr2_options import BF16_CHOICES

        params["bf16"] = BF16_CHOICES[args.bf16]
    if getattr(args, "channels_last", None) is not None:
        params["channels_last"] = args.channels_last
    params.update(init=args.init, init_params=dict(args.init_param), seed=args.seed)
    if args.freeze_embeddings:
        params["freeze_embeddings"] = True
    params.update(args.param)
    known = cls._param_names()
    unknown = [k for k in params if k not in known]
    if unknown:
        opts = ", ".join("--" + k.replace("_", "-") if k in _OPTIONS.values() else k
                         for k in unknown)
        raise UsageError(f"model {args.model!r} has no parameter {opts}; its parameters: "
                         f"{', '.join(known)}")
    return params


def validate(args):
    """Everything checkable before loading data: model, options, initialiser. Returns the
    model class and its parameters."""
    from ..init import available, resolve_params
    from ..models import model_class, neural_models

    if args.model not in neural_models():
        raise UsageError(f"--model {args.model!r}: choose from {', '.join(neural_models())}")
    if args.init not in available():
        raise UsageError(f"--init {args.init!r}: choose from {', '.join(available())}")
    if args.init_file is not None:
        if args.init != "random" or args.init_param:
            raise UsageError("--init-file replaces --init and --init-param; give one of them")
        if not Path(args.init_file).is_dir():
            raise UsageError(f"--init-file {args.init_file}: no such directory")
    if args.metric is not None:
        check_metric(args.metric)
    if args.tune and args.trials < 1:
        raise UsageError(f"--trials must be >= 1, got {args.trials}")
    cls = model_class(args.model)
    params = model_params(args, cls)
    if args.init_file is not None:  # the model is checked with the folder's dimension
        from ..init.loader import folder_dim

        try:
            dim = folder_dim(args.init_file)
        except (ValueError, FileNotFoundError) as exc:
            raise UsageError(f"--init-file: {exc}") from None
        if params.setdefault("dim", dim) != dim:
            raise UsageError(f"--init-file: the embeddings have dimension {dim}, --dim asks "
                             f"for {params['dim']}")
    try:
        cls(**params)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    try:  # the initialiser's parameters too, before any data is read
        resolve_params(args.init, params.get("init_params"), params.get("dim", 64))
    except ValueError as exc:
        raise UsageError(f"--init-param: {exc}") from None
    return cls, params


def with_init_file(path, params: dict, split) -> dict:
    """``params`` with the embeddings of ``leporid embed``'s directory ``path`` as ``init``."""
    from ..init import load_embeddings

    try:
        emb = load_embeddings(path, split)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(f"--init-file: {exc}") from None
    if params.get("dim", emb.dim) != emb.dim:
        raise UsageError(f"--init-file: the embeddings have dimension {emb.dim}, --dim asks "
                         f"for {params['dim']}")
    print(f"initial embeddings from {path} ({emb.scheme}, dim {emb.dim})", flush=True)
    return {**params, "dim": emb.dim, "init": (emb.user, emb.item), "init_params": {}}, \
        emb.info["folder"]["fingerprint"]


def run(args) -> int:
    from ..eval import evaluate
    from ..train.loop import format_entry

    cls, params = validate(args)
    check_result_paths(args)
    split = load_split(args)
    print(f"{args.dataset}: {split.n_users} users, {split.n_items} items, "
          f"{split.train.nnz} training interactions", flush=True)
    init_name, init_file = args.init, None
    if args.init_file is not None:
        params, fingerprint = with_init_file(args.init_file, params, split)
        # other embeddings never share a result or a checkpoint: the name carries the folder's
        # fingerprint, and the result records the folder (relative to --out) and its fingerprint
        init_name = f"file-{fingerprint[:12]}"
        init_file = {"path": os.path.relpath(Path(args.init_file).resolve(),
                                             Path(args.out).resolve()),
                     "fingerprint": fingerprint}
    stem = result_stem(args.out, "train", args.dataset, args.model, init_name,
                       seed_part(args.seed))
    bars = show_progress(args)
    t0 = time.perf_counter()
    tuning = None
    if args.tune:
        from ..train.tuning import tune_model

        res = tune_model(args.model, split, args.trials, metric=params.get("metric", "HR@10"),
                         seed=args.seed, ks=KS, progress=bars, fixed=params)
        model = res["model"]
        tuning = {"trials": res["n_trials"], "metric": res["metric"],
                  "best_value": res["best_value"], "best_params": res["best_params"]}
        stem = stem.with_name(stem.name + "_tuned")
    else:
        model = cls(**params)
        ckpt = stem.with_suffix(".train.pt")
        if args.fresh:
            ckpt.unlink(missing_ok=True)
        elif ckpt.exists():
            print(f"resuming from {ckpt} (--fresh to start over)", flush=True)
        try:
            model.fit(split, progress=bars, checkpoint=ckpt,
                      callbacks=() if bars else
                      (lambda e: print(format_entry(e, model.metric), flush=True),))
        except ValueError as exc:
            if str(ckpt) in str(exc):
                raise UsageError(str(exc)) from None
            raise
    train_seconds = time.perf_counter() - t0
    summary = training_summary(model)
    if summary:
        print(summary, flush=True)
    validation = evaluate(model, split, "validation", ks=KS)
    test = evaluate(model, split, "test", ks=KS, return_topn=bool(args.save_recommendations))
    paths = write_results(args, stem, split, validation, test, params=json_params(model),
                          tune=tuning, seconds=train_seconds, config={"init_file": init_file},
                          meta={"history": model.history_})
    paths["model"] = model.save(stem.with_suffix(".pt"))
    write_exports(args, split, test, paths)
    return 0


def training_summary(model) -> str | None:
    """How training ended, from the model's validation history: ``stopped early at step N;
    best validation HR@10 0.4213 at step M`` when the patience rule ended it before its budget
    (the weights of step M are the ones kept), else the best step of the full budget."""
    entries = [e for e in getattr(model, "history_", None) or [] if "validation" in e]
    if not entries:
        return None
    metric = model.metric
    best = max(entries, key=lambda e: e["validation"][metric])  # first of equals: the kept one
    last = entries[-1]
    stale = next((i for i, e in enumerate(reversed(entries)) if e.get("best")), len(entries))
    budget_left = (last["step"] < model.iterations if model.iterations
                   else last["epoch"] < model.epochs - 1e-3)
    plural = "s" if stale != 1 else ""
    head = (f"stopped early at step {last['step']} ({stale} validation{plural} without improvement)"
            if stale >= model.patience and budget_left else f"trained {last['step']} steps")
    return (f"{head}; best validation {metric} {best['validation'][metric]:.4f} at step "
            f"{best['step']}")


def json_params(model) -> dict:
    import json

    return json.loads(model.params_json())

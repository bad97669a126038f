"""``leporid train`` (train a neural model, select on validation, test once) and
``leporid recommend`` (top-N raw item ids for raw user ids from a trained checkpoint).

    leporid train --model dlr2 --dataset ml-latest-small --init leporid
    leporid train --model dlr2 --dataset data/ml-100k.inter --init random --arch revnet --loss s
    leporid recommend --checkpoint results/train_ml-latest-small_dlr2_leporid.pt --users 1 42 -n 10
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .common import add_dataset_args, add_export_args, add_seed_arg, write_exports

MODELS = ("dlr2",)


def register(sub) -> None:
    """Add the ``train`` and ``recommend`` sub-commands."""
    from ..models.dlr2 import ARCHS, DLR2Config, LOSSES

    d = DLR2Config()
    p = sub.add_parser(
        "train", help="train DLR² (any initialisation), select on validation, test once",
        description="Train a neural model on the training part with model selection on the "
                    "validation part only, evaluate the selected model once on test (all and "
                    "tail users), print a table, write JSON + CSV + Markdown results and a "
                    "checkpoint. An interrupted run resumes from its training checkpoint.")
    add_dataset_args(p)
    p.add_argument("--model", default="dlr2", choices=MODELS, help="model (default dlr2)")
    p.add_argument("--init", default=d.init,
                   help="initialiser of the user/item embeddings: leporid, le, random, ... "
                        f"(see `leporid embed`; default {d.init})")
    p.add_argument("--init-param", action="append", default=[], metavar="KEY=VALUE",
                   help="initialiser option, e.g. n_neighbors=1000 or alpha=0.7 (repeatable)")
    p.add_argument("--arch", default=d.arch, choices=ARCHS,
                   help=f"feature network (Table 7; default {d.arch})")
    p.add_argument("--loss", default=d.loss, choices=LOSSES,
                   help=f"L_S + L_G, or one alone (Table 6; default {d.loss})")
    p.add_argument("--freeze-embeddings", action="store_true",
                   help="keep the initial embeddings fixed (the authors' code for LE/LEPORID); "
                        "default: fine-tune them (the paper)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int, default=None,
                        help=f"passes over the training windows (default {d.epochs})")
    budget.add_argument("--iterations", type=int, default=None,
                        help="optimizer steps instead of --epochs")
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help=f"windows per step (default {d.batch_size})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr})")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay,
                   help=f"Adam weight decay (default {d.weight_decay})")
    p.add_argument("--margin-s", type=float, default=d.margin_s,
                   help=f"m_S of L_S (default {d.margin_s}, the authors' code; the paper's 0 "
                        "lets S collapse to 0)")
    p.add_argument("--margin-g", type=float, default=d.margin_g,
                   help=f"m_G of L_G (default {d.margin_g}, the authors' code)")
    p.add_argument("--g-distance", default=d.g_distance, choices=("euclidean", "squared"),
                   help="distance inside L_G: Euclidean (paper) or mean squared difference "
                        f"(authors' code; default {d.g_distance})")
    p.add_argument("--score-with", default=d.score_with, choices=("s", "g"),
                   help=f"rank items with S or with G (default {d.score_with})")
    p.add_argument("--g-metric", default=d.g_metric, choices=("euclidean", "l1"),
                   help=f"distance to G(s) when ranking with G (default {d.g_metric})")
    p.add_argument("--seq-len", type=int, default=d.seq_len,
                   help=f"l, items in the state (default {d.seq_len})")
    p.add_argument("--dim", type=int, default=d.dim, help=f"embedding size D (default {d.dim})")
    p.add_argument("--metric", default=d.metric,
                   help=f"validation metric for model selection (default {d.metric})")
    p.add_argument("--evals-per-epoch", type=int, default=d.evals_per_epoch,
                   help=f"validations per epoch (default {d.evals_per_epoch})")
    p.add_argument("--eval-every", type=int, default=None,
                   help="steps between validations (overrides --evals-per-epoch)")
    p.add_argument("--patience", type=int, default=d.patience,
                   help=f"validations without improvement before stopping (default {d.patience})")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--bf16", default="auto", choices=("auto", "on", "off"),
                   help="bfloat16 autocast in the feature network; auto = on for CPUs with "
                        "native bf16 (AVX512-BF16/AMX), off elsewhere (default auto)")
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                   help="NCHW instead of NHWC convolutions")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")
    add_seed_arg(p)
    p.add_argument("--out", default="results", help="results folder (default results/)")
    p.add_argument("--fresh", action="store_true",
                   help="ignore (and overwrite) an existing training checkpoint")
    add_export_args(p)
    p.set_defaults(func=run)

    r = sub.add_parser(
        "recommend", help="top-N items for raw user ids from a trained checkpoint",
        description="Print the top-N raw item ids (CSV user,rank,item) for the given raw user "
                    "ids. Without --dataset the state is the user's history up to the test "
                    "period as stored in the checkpoint, and the items of that history are "
                    "excluded; with --dataset the user's complete history in that data is used.")
    r.add_argument("--checkpoint", required=True, help="a model written by `leporid train`")
    r.add_argument("--users", nargs="+", required=True, metavar="RAW_ID", help="raw user ids")
    r.add_argument("-n", type=int, default=10, help="list length (default 10)")
    r.add_argument("--dataset", default=None,
                   help="optional: take the users' full history from this dataset")
    r.add_argument("--format", default=None, help="file format of --dataset")
    r.add_argument("--min-count", type=int, default=20,
                   help="k-core used when --dataset is a raw file (default 20)")
    r.add_argument("--device", default=None, help="cpu or cuda (default: the checkpoint's)")
    r.set_defaults(func=run_recommend)


def _model_config(args) -> dict:
    from .evaluate_cmd import parse_param

    cfg = {"init": args.init, "init_params": dict(parse_param(t) for t in args.init_param),
           "arch": args.arch, "loss": args.loss, "freeze_embeddings": args.freeze_embeddings,
           "batch_size": args.batch_size, "lr": args.lr, "weight_decay": args.weight_decay,
           "margin_s": args.margin_s, "margin_g": args.margin_g, "g_distance": args.g_distance,
           "score_with": args.score_with, "g_metric": args.g_metric, "seq_len": args.seq_len,
           "dim": args.dim, "metric": args.metric, "eval_every": args.eval_every,
           "evals_per_epoch": args.evals_per_epoch, "patience": args.patience,
           "threads": args.threads, "bf16": {"auto": None, "on": True, "off": False}[args.bf16],
           "channels_last": args.channels_last, "device": args.device, "seed": args.seed}
    if args.epochs is not None:
        cfg["epochs"] = args.epochs
    if args.iterations is not None:
        cfg["iterations"] = args.iterations
    return cfg


def run(args) -> int:
    from ..eval import evaluate
    from ..models.dlr2 import DLR2
    from ..results import provenance, write_table
    from ..train.dlr2_trainer import format_entry
    from .evaluate_cmd import KS, _print_table, _stem, result_rows
    from .common import load_split

    split = load_split(args)
    print(f"{args.dataset}: {split.n_users} users, {split.n_items} items, "
          f"{split.train.nnz} training interactions", flush=True)
    model = DLR2(**_model_config(args))
    stem = Path(args.out) / f"train_{_stem(args.dataset)}_{args.model}_{args.init}"
    ckpt = stem.with_suffix(".train.pt")
    if args.fresh:
        ckpt.unlink(missing_ok=True)
    elif ckpt.exists():
        print(f"resuming from {ckpt} (--fresh to start over)", flush=True)
    tty = sys.stderr.isatty()
    t0 = time.perf_counter()
    model.fit(split, progress=tty, checkpoint=ckpt,
              callback=None if tty else (lambda e: print(format_entry(e, model.config.metric),
                                                        flush=True)))
    train_seconds = time.perf_counter() - t0
    validation = evaluate(model, split, "validation", ks=KS)
    test = evaluate(model, split, "test", ks=KS, return_topn=bool(args.save_recommendations))
    rows = result_rows({"validation": validation, "test": test})
    _print_table(rows)

    config = {"command": "train", "dataset": args.dataset, "format": args.format,
              "min_count": args.min_count, "model": args.model, "params": model.get_params(),
              "ks": list(KS), "tail_fraction": 0.25}
    meta = {**provenance(config, args.seed, split.fingerprint()),
            "split_report": dict(getattr(split, "report", {}) or {}),
            "n_users": split.n_users, "n_items": split.n_items,
            "seconds": round(train_seconds, 3), "history": model.history_}
    paths = write_table(stem, rows, meta)
    paths["model"] = model.save(stem.with_suffix(".pt"))
    write_exports(args, split, test, paths)
    return 0


def run_recommend(args) -> int:
    import numpy as np

    from ..models.dlr2 import DLR2

    model = DLR2.load(args.checkpoint, device=args.device)
    index = {str(u): i for i, u in enumerate(model.user_ids_.tolist())}
    missing = [u for u in args.users if u not in index]
    if missing:
        raise KeyError(f"{args.checkpoint}: unknown user id(s) {missing[:5]} "
                       f"(the model knows {len(index)} users)")
    users = np.array([index[u] for u in args.users], np.int64)
    if args.dataset is None:
        top = model.recommend(users, args.n)
    else:
        states, exclude = _full_history(model, args, args.users)
        top = model.recommend(users, args.n, states=states, exclude=exclude)
    import csv

    out = csv.writer(sys.stdout, lineterminator="\n")  # quotes ids holding , " or newlines
    out.writerow(["user", "rank", "item"])
    for raw, row in zip(args.users, top):
        for rank, item in enumerate(row[row >= 0], 1):
            out.writerow([raw, rank, model.item_ids_[item]])
    return 0


def _full_history(model, args, raw_users):
    """States (last l items of the complete history) and excluded items (everything seen),
    in the model's item indexing, from ``--dataset``."""
    import numpy as np

    from ..train.sequential import last_items
    from .common import load_split

    split = load_split(args)
    if split.fingerprint() != model.fingerprint_:
        print(f"note: {args.dataset} is not the data the model was trained on; users and items "
              "are matched by raw id", file=sys.stderr)
    item_map = {str(i): k for k, i in enumerate(model.item_ids_.tolist())}
    to_model = np.array([item_map.get(str(i), -1) for i in split.item_ids.tolist()], np.int64)
    split_user = {str(u): k for k, u in enumerate(split.user_ids.tolist())}
    indptr, items = split.sequences("train", "validation", "test")
    seqs = []
    for raw in raw_users:
        k = split_user.get(str(raw))
        seq = to_model[items[indptr[k]:indptr[k + 1]]] if k is not None else np.empty(0, np.int64)
        seqs.append(seq[seq >= 0])
    lens = np.array([len(s) for s in seqs], np.int64)
    sub_ptr = np.concatenate([[0], np.cumsum(lens)])
    flat = np.concatenate(seqs) if seqs else np.empty(0, np.int64)
    states = last_items(sub_ptr, flat, model.config.seq_len, model.n_items_)
    seen = [np.unique(s) for s in seqs]
    ex_ptr = np.concatenate([[0], np.cumsum([len(s) for s in seen])])
    return states, (ex_ptr, np.concatenate(seen) if seen else np.empty(0, np.int64))

"""``leporid recommend``: top-N raw item ids for raw user ids from a checkpoint that
``leporid train`` wrote.

    leporid recommend --checkpoint results/train_ml-latest-small_dlr2_leporid.pt --users 1 42 -n 10
"""

from __future__ import annotations

import sys

from .common import UsageError, add_dataset_args, int_option, load_split


def register(sub) -> None:
    """Add the ``recommend`` sub-command."""
    r = sub.add_parser(
        "recommend", help="top-N items for raw user ids from a trained checkpoint",
        description="Print the top-N raw item ids (CSV user,rank,item, and title when the "
                    "dataset has titles) for the given raw user ids. Without --dataset the "
                    "state is the user's history up to the test period as stored in the "
                    "checkpoint, and the items of that history are excluded; with --dataset the "
                    "user's complete history in that data is used.")
    r.add_argument("--checkpoint", required=True, help="a model written by `leporid train`")
    r.add_argument("--users", nargs="+", required=True, metavar="RAW_ID", help="raw user ids")
    r.add_argument("-n", type=int_option(1), default=10, help="list length (default 10)")
    add_dataset_args(r, dataset=None,
                     dataset_help="optional: take the users' full history from this dataset "
                                  "(prepared as for training: --min-count, --protocol)")
    r.add_argument("--device", default=None, help="cpu or cuda (default: the checkpoint's)")
    r.set_defaults(func=run_recommend)


def run_recommend(args) -> int:
    import numpy as np

    from ..models import load_model
    from ..models.neural import SequentialRecommender
    from ..utils.device import check_device

    if args.device is not None:
        try:
            check_device(args.device)
        except ValueError as exc:
            raise UsageError(f"--device: {exc}") from None
    try:
        model = load_model(args.checkpoint, device=args.device)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not hasattr(model, "recommend") or not hasattr(model, "user_ids_"):
        raise UsageError(f"{args.checkpoint}: a {type(model).__name__} file has no raw ids; "
                         "use a model written by `leporid train`")
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
        extra = {"states": states} if isinstance(model, SequentialRecommender) else {}
        top = model.recommend(users, args.n, exclude=exclude, **extra)
    import csv

    from ..data.titles import checkpoint_titles

    titles = checkpoint_titles(args.checkpoint, args.dataset)  # {} when the data has none
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["user", "rank", "item"] + (["title"] if titles else []))
    for raw, row in zip(args.users, top):
        for rank, item in enumerate(row[row >= 0], 1):
            item_id = model.item_ids_[item]
            out.writerow([raw, rank, item_id] + ([titles.get(str(item_id), "")] if titles else []))
    return 0


def _full_history(model, args, raw_users):
    """States (last l items of the complete history) and excluded items (everything seen),
    in the model's item indexing, from ``--dataset``."""
    import numpy as np

    from ..data.sequences import last_items

    split = load_split(args)
    if split.fingerprint() != model.fingerprint_:
        print(f"leporid recommend: note: {args.dataset} is not the data the model was trained "
              "on; users and items are matched by raw id", file=sys.stderr)
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
    states = last_items(sub_ptr, flat, getattr(model, "seq_len", 1), model.n_items_)
    seen = [np.unique(s) for s in seqs]
    ex_ptr = np.concatenate([[0], np.cumsum([len(s) for s in seen])])
    return states, (ex_ptr, np.concatenate(seen) if seen else np.empty(0, np.int64))

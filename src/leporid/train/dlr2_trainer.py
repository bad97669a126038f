"""Training loop for DLR²: windows, fresh negatives, Adam + cosine, validation-only selection.

One *epoch* visits every training window (``leporid.data.sequences.sliding_windows``) once in a
random order; each window gets one negative drawn uniformly from the items its user has not
trained on, fresh every epoch. A step on a batch of ``batch_size`` windows computes the state
``s`` once and uses it for the positive and the negative row (the authors' code runs the
feature network twice on the same input, which gives the same loss). Adam (``lr``,
``weight_decay``) with cosine annealing over the planned number of steps (``iterations``, or
``epochs`` x steps per epoch).

Every ``eval_every`` steps (default: ``evals_per_epoch`` = 2 times per epoch) and at the end, the model is evaluated on
the **validation** part with the common evaluator; the best validation state (``metric``,
default HR@10) is kept and restored at the end; after ``patience`` validations without
improvement training stops early. The test part is never looked at.

Resumable: with ``checkpoint=PATH`` the complete training state (weights, best weights, Adam,
scheduler, step, history) is written atomically after every validation, and a later call with
the same data and configuration continues from it. Batch order and negatives of epoch ``k`` come
from ``numpy.random.default_rng([seed, k])``, so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import copy
import io
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from ..models.dlr2 import DLR2, DLR2Config, loss_g, loss_s
from ..data.sequences import NegativeSampler, sliding_windows

TRAIN_FORMAT = "leporid-dlr2-train/1"
#: config fields that may differ between a checkpoint and a resumed run
_RUNTIME_FIELDS = ("threads", "device")


def train_dlr2(split, init: str = "random", seed: int = 123, progress: bool = False,
               checkpoint: str | Path | None = None, callback=None,
               embeddings: tuple[np.ndarray, np.ndarray] | None = None,
               **config) -> tuple[DLR2, list[dict]]:
    """Train DLR² on ``split`` and return ``(model, history)``.

    ``init`` names an initialiser of ``leporid.init`` (``init_params=`` passes its options), or
    pass ``embeddings=(user_emb, item_emb)`` directly. ``config``: any field of ``DLR2Config``
    (``arch``, ``loss``, ``freeze_embeddings``, ``epochs``, ``iterations``, ``lr``, ...).
    ``history`` has one entry per validation: step, epoch, mean training loss, validation
    metrics, elapsed seconds. The returned model holds the best-validation weights; evaluate
    it with ``leporid.eval.evaluate(model, split, "test")``.
    """
    model = DLR2(init=init, seed=seed, **config)
    model.fit(split, progress=progress, checkpoint=checkpoint, callback=callback,
              embeddings=embeddings)
    return model, model.history_


def _initial_embeddings(c: DLR2Config, split, embeddings):
    if embeddings is not None:
        return embeddings
    from ..init import initialize

    return initialize(c.init, split.train, c.dim, c.seed, **c.init_params)


def _config_key(c: DLR2Config) -> dict:
    d = c.to_dict()
    for k in _RUNTIME_FIELDS:
        d.pop(k, None)
    return d


def _validation_entry(model, split, metric: str) -> dict:
    from ..eval import evaluate

    res = evaluate(model, split, "validation")["all"]
    if metric not in res:
        raise ValueError(f"unknown selection metric {metric!r}; available: "
                         f"{sorted(k for k in res if '@' in k)}")
    return {k: float(v) for k, v in res.items() if k != "n_users"}


def fit_model(model: DLR2, split, progress: bool = False, checkpoint=None, callback=None,
              embeddings=None) -> DLR2:
    """Train ``model`` (a ``DLR2``) in place on ``split``; see the module docstring."""
    from tqdm.auto import tqdm

    c = model.config
    if c.threads:
        torch.set_num_threads(int(c.threads))
    ue, ie = _initial_embeddings(c, split, embeddings)
    model._setup(split, ue, ie)
    net = model.network_
    dev = next(net.parameters()).device
    pad = split.n_items

    indptr, items = split.sequences("train")
    w_users, w_states, w_targets = sliding_windows(indptr, items, c.seq_len, pad)
    n_win = len(w_targets)
    if n_win == 0:
        raise ValueError("no training windows: every user has fewer than 2 training items")
    sampler = NegativeSampler(split.train)
    steps_per_epoch = math.ceil(n_win / c.batch_size)
    total = int(c.iterations) if c.iterations is not None else int(c.epochs) * steps_per_epoch
    eval_every = max(1, int(c.eval_every or math.ceil(steps_per_epoch / c.evals_per_epoch)))

    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total, 1)) if c.cosine else None

    state = {"step": 0, "best": -math.inf, "bad": 0, "done": False, "best_state": None}
    history: list[dict] = []
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.exists():
        _resume(ckpt, model, split, opt, sched, state, history)
    model.history_ = history

    # tensors of all windows, indexed per batch
    t_users = torch.as_tensor(w_users, device=dev)
    t_states = torch.as_tensor(w_states, device=dev)
    t_targets = torch.as_tensor(w_targets, device=dev)

    t0 = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    bar = tqdm(total=total, initial=state["step"], desc=f"dlr2 {c.init}", unit="step",
               disable=not progress, dynamic_ncols=True)
    loss_sum, loss_n = 0.0, 0
    train_time, n_seen = 0.0, 0          # time in training steps only, windows since last eval
    epoch_cache: tuple[int, torch.Tensor, torch.Tensor] | None = None
    net.train()
    try:
        while state["step"] < total and not state["done"]:
            step = state["step"]
            tick = time.perf_counter()
            epoch, pos = divmod(step, steps_per_epoch)
            if epoch_cache is None or epoch_cache[0] != epoch:
                rng = np.random.default_rng([c.seed, epoch])
                perm = rng.permutation(n_win)
                negs = sampler.sample(w_users[perm], rng)
                epoch_cache = (epoch, torch.as_tensor(perm, device=dev),
                               torch.as_tensor(negs, device=dev))
            _, perm_t, neg_t = epoch_cache
            sl = slice(pos * c.batch_size, (pos + 1) * c.batch_size)
            idx = perm_t[sl]
            loss = _step_loss(net, c, model.bf16_, t_users[idx], t_states[idx], t_targets[idx],
                              neg_t[sl])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            loss_sum += float(loss.detach())
            loss_n += 1
            n_seen += len(idx)
            train_time += time.perf_counter() - tick
            state["step"] = step + 1
            bar.update(1)
            if state["step"] % eval_every == 0 or state["step"] == total:
                entry = _validate(model, split, c, state, loss_sum / max(loss_n, 1),
                                  steps_per_epoch, time.perf_counter() - t0)
                entry["windows_per_s"] = round(n_seen / max(train_time, 1e-9), 1)
                history.append(entry)
                loss_sum, loss_n, train_time, n_seen = 0.0, 0, 0.0, 0
                bar.set_postfix(loss=f"{entry['loss']:.4f}",
                                **{f"val_{c.metric}": f"{entry['validation'][c.metric]:.4f}"})
                if progress:
                    bar.write(format_entry(entry, c.metric))
                if callback is not None:
                    callback(entry)
                if ckpt is not None:
                    _save_training(ckpt, model, opt, sched, state, history)
                net.train()
    finally:
        bar.close()
    if not history:  # resumed a finished run, or nothing to do: make sure a selection exists
        entry = _validate(model, split, c, state, float("nan"), steps_per_epoch,
                          time.perf_counter() - t0)
        history.append(entry)
    if state["best_state"] is not None:
        net.load_state_dict(state["best_state"])
    net.eval()
    if ckpt is not None:
        state["done"] = True
        _save_training(ckpt, model, opt, sched, state, history)
    return model


def _step_loss(net, c: DLR2Config, bf16: bool, users, states, targets, negs) -> torch.Tensor:
    s = net.state(users, states, bf16)
    e_pos, e_neg = net.item_emb(targets), net.item_emb(negs)
    loss = s.new_zeros(())
    if c.loss in ("both", "s"):
        out = net.S(torch.cat([s, s]), torch.cat([e_pos, e_neg]))
        loss = loss + loss_s(out[:len(s)], out[len(s):], c.margin_s)
    if c.loss in ("both", "g"):
        loss = loss + loss_g(net.G(s), e_pos, e_neg, c.margin_g, c.g_distance)
    return loss


def _validate(model, split, c, state, mean_loss, steps_per_epoch, seconds) -> dict:
    val = _validation_entry(model, split, c.metric)
    score = val[c.metric]
    improved = score > state["best"]
    if improved:
        state["best"], state["bad"] = score, 0
        state["best_state"] = copy.deepcopy(
            {k: v.detach().cpu() for k, v in model.network_.state_dict().items()})
    else:
        state["bad"] += 1
        if state["bad"] >= c.patience:
            state["done"] = True
    return {"step": state["step"], "epoch": round(state["step"] / steps_per_epoch, 3),
            "loss": mean_loss, "validation": val, "best": improved,
            "seconds": round(seconds, 2)}


def format_entry(e: dict, metric: str = "HR@10") -> str:
    """One line for a history entry: step, epoch, loss, validation metrics, a star if best."""
    v = e["validation"]
    names = dict.fromkeys(["HR@5", "HR@10", "F1@10", metric])
    cols = [f"{k} {v[k]:.4f}" for k in names if k in v]
    mark = " *" if e["best"] else ""
    return (f"step {e['step']:>6} epoch {e['epoch']:6.2f}  loss {e['loss']:.4f}  validation "
            + "  ".join(cols) + f"  ({e['seconds']:.0f}s){mark}")


# --------------------------------------------------------------------------- checkpoints
def _save_training(path: Path, model, opt, sched, state, history) -> None:
    from ..results import atomic_write

    current = {k: v.detach().cpu() for k, v in model.network_.state_dict().items()}
    best = state["best_state"] or current
    model_dict = model.checkpoint_dict()
    model_dict["state_dict"] = best
    model_dict["history"] = json.dumps(history)
    ck = {"format": TRAIN_FORMAT, "model": model_dict, "current_state": current,
          "optimizer": opt.state_dict(),
          "scheduler": sched.state_dict() if sched is not None else None,
          "step": state["step"], "best": state["best"], "bad": state["bad"],
          "done": state["done"], "config_key": json.dumps(_config_key(model.config))}
    buf = io.BytesIO()
    torch.save(ck, buf)
    atomic_write(path, buf.getvalue())


def _resume(path: Path, model, split, opt, sched, state, history) -> None:
    ck = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ck, dict) or ck.get("format") != TRAIN_FORMAT:
        raise ValueError(f"{path}: not a DLR2 training checkpoint")
    if ck["model"]["fingerprint"] != split.fingerprint():
        raise ValueError(f"{path}: checkpoint was trained on other data (fingerprint "
                         f"{ck['model']['fingerprint']} != {split.fingerprint()}); "
                         "delete it or choose another path")
    if json.loads(ck["config_key"]) != _config_key(model.config):
        raise ValueError(f"{path}: checkpoint has a different configuration; delete it or "
                         "choose another path")
    model.network_.load_state_dict(ck["current_state"])
    opt.load_state_dict(ck["optimizer"])
    if sched is not None and ck["scheduler"] is not None:
        sched.load_state_dict(ck["scheduler"])
    state.update(step=int(ck["step"]), best=float(ck["best"]), bad=int(ck["bad"]),
                 done=bool(ck["done"]), best_state=ck["model"]["state_dict"])
    history.extend(json.loads(ck["model"]["history"]))

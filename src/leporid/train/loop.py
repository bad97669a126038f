"""The one training loop of every neural model: Adam, cosine schedule, validation-only model
selection, patience, best weights restored, atomic resumable checkpoints, callbacks, progress.

Settings: the loop reads every training setting from ``model.training`` (a
``TrainingConfig``, ``leporid.models.training``, re-exported here as
``leporid.train.TrainingConfig``): the one object of them, validated once, with each model's
defaults from its registry record.

Contract (``leporid.models.neural``): the model builds its seeded network (``_build(data)``),
supplies the batches of an epoch (``batches(rng)``, a list drawn from
``numpy.random.default_rng([seed, epoch])``) and the loss of a batch (``batch_loss(batch)``) —
or, when its ``updates_itself`` is true, ``manual_step(batch, lr) -> mean loss``, which updates
the weights in place (BPR-MF's SGD kernel; the loop's Adam then only carries the learning-rate
schedule); the loop does everything else:

- Adam over the trainable parameters (``lr``, ``weight_decay``), cosine annealing to 0 over
  the planned steps (``iterations``, or ``epochs`` x batches per epoch) when ``cosine``;
- with a ``Split``: validation every ``eval_every`` steps (default ``evals_per_epoch`` times per
  epoch) and at the end, through ``leporid.eval.evaluate`` on the **validation** part only;
  the best state on ``metric`` is kept and restored at the end; ``patience`` validations
  without improvement stop training. With a bare sparse matrix (no validation): the full
  budget, no selection (the loss is still recorded);
- validation users: all of them, or, when validation users x items exceeds the model's
  ``selection_pairs``, a fixed subset drawn once from the seed (``selection_users``), kept in
  ``model.selection_users_`` and counted in each history entry (``validation_users``); test
  evaluation (outside the loop) always uses every user;
- ``checkpoint=PATH``: the complete state (weights, best weights, Adam, scheduler, step,
  history) is written atomically after every validation; a later call with the same data and
  parameters continues from it. Epoch ``k``'s batches come from ``default_rng([seed, k])``, so
  a resumed run equals an uninterrupted one;
- ``callbacks``: callables ``f(entry)`` run after each validation, or objects with any of
  ``on_train_begin(model)``, ``on_validation(model, entry)``, ``on_train_end(model)``
  (``on_train_begin`` sees the seeded network before the first step);
- a tqdm progress bar (``progress=True``) and ``model.history_`` (one entry per validation:
  step, epoch, mean training loss, validation metrics, seconds, best flag).
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import io
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from ..models.neural import RUNTIME_PARAMS, read_torch_file

TRAIN_FORMAT = "leporid-train/1"


#: torch CPU threads of a training when the model's ``threads`` is None (the default policy)
DEFAULT_TRAINING_THREADS = 1


def training_threads(n: int | None) -> int:
    """The torch CPU threads a training uses: ``n`` when given, else
    ``DEFAULT_TRAINING_THREADS`` (1). Why one: torch's OpenMP threads spin while they wait, so
    a two-thread DLR² run on 2 cores slowed ~12x beside one busy process, and on a loaded
    machine one thread was 7x faster than two even alone; with one thread a busy neighbour
    costs ~2x at most. Passive OpenMP waits (``OMP_WAIT_POLICY=PASSIVE``) were worse still
    under load (each wake-up waits for the scheduler). On a quiet machine ask for more
    (``threads=2``, ``--threads 2``). Measured in ``benchmarks/bench_busy.py``."""
    return int(n) if n else DEFAULT_TRAINING_THREADS


_HEAP_KEPT: bool | None = None     # keep_heap's result, once per process


def keep_heap() -> bool:
    """Let glibc's malloc keep freed tensor memory for reuse (once per process; a no-op
    elsewhere or with ``LEPORID_KEEP_HEAP=0``). Why: by default every CPU activation above the
    dynamic mmap threshold is a fresh ``mmap`` whose pages fault in on first touch and go back
    to the kernel when freed. Raising the mmap threshold to glibc's maximum (32 MiB) and the
    trim threshold to 256 MiB took a DLR² epoch on ml-100k from 1,224 to 1,309-1,402 windows/s
    and its page faults from 3.3-4.6M to 0.7M (``benchmarks/bench_dlr2.py epoch``); resident
    memory did not grow. Returns whether the thresholds are set."""
    global _HEAP_KEPT
    if _HEAP_KEPT is None:
        _HEAP_KEPT = False
        if os.environ.get("LEPORID_KEEP_HEAP", "1") != "0":
            try:
                libc = ctypes.CDLL("libc.so.6")
                _HEAP_KEPT = (libc.mallopt(-3, 32 << 20) == 1        # M_MMAP_THRESHOLD
                              and libc.mallopt(-1, 256 << 20) == 1)  # M_TRIM_THRESHOLD
            except (OSError, AttributeError):       # not glibc (macOS, musl, Windows)
                pass
    return _HEAP_KEPT


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run with ``training_threads(n)`` torch CPU threads, restored afterwards."""
    old = torch.get_num_threads()
    torch.set_num_threads(training_threads(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _callback_hooks(callbacks, event: str):
    for cb in callbacks or ():
        fn = getattr(cb, event, None)
        if fn is not None:
            yield fn
        elif event == "on_validation" and callable(cb):
            yield lambda model, entry, cb=cb: cb(entry)


def _config_key(model) -> str:
    p = json.loads(model.params_json())
    for k in RUNTIME_PARAMS:
        p.pop(k, None)
    return json.dumps(p, sort_keys=True)


def _same_config(stored: str, model) -> bool:
    """Whether a checkpoint's configuration key is this model's. A training setting the
    checkpoint predates (``selection_pairs`` of NGCF, LightGCN, NCF, HGN and DGCF before the
    settings became one ``TrainingConfig``) counts as its common default, which those models
    used."""
    from ..models.training import common_defaults

    old, new = json.loads(stored), json.loads(_config_key(model))
    defaults = json.loads(json.dumps(common_defaults()))
    added = {k: v for k, v in new.items() if k not in old}
    return ({k: v for k, v in new.items() if k in old} == old
            and all(k in defaults and v == defaults[k] for k, v in added.items()))


def selection_users(model, split) -> np.ndarray | None:
    """The validation users model selection scores: ``None`` (all of them) while validation
    users x items <= ``model.selection_pairs`` (or it is ``None``), else a fixed subset of
    ``max(1, selection_pairs // n_items)`` of them, drawn once from
    ``default_rng([seed, 7919])`` (sorted). Test results always use every user."""
    users = np.flatnonzero(np.diff(split.validation.indptr) > 0)
    limit = getattr(model, "selection_pairs", None)
    if not limit or len(users) * split.n_items <= limit:
        return None
    k = max(1, int(limit) // split.n_items)
    rng = np.random.default_rng([model.seed, 7919])
    return np.sort(rng.choice(users, k, replace=False)).astype(np.int64)


def validation_entry(model, split) -> dict:
    """Validation metrics of ``model`` (``ValueError`` for an unknown selection metric), on
    ``model.selection_users_`` when set (see ``selection_users``)."""
    from ..eval import evaluate

    res = evaluate(model, split, "validation",
                   users=getattr(model, "selection_users_", None))["all"]
    if model.metric not in res:
        raise ValueError(f"unknown selection metric {model.metric!r}; available: "
                         f"{sorted(k for k in res if '@' in k)}")
    return {k: float(v) for k, v in res.items() if k != "n_users"}


def train(model, data, progress: bool = False, checkpoint=None, callbacks=()):
    """Fit ``model`` in place on ``data`` (a ``Split``, or a users x items sparse matrix) and
    return it; see the module docstring."""
    with torch_threads(model.training.threads):
        return _train(model, data, progress, checkpoint, callbacks)


def _train(model, data, progress, checkpoint, callbacks):
    from tqdm.auto import tqdm

    selecting = not sp.issparse(data)
    cfg = model.training
    keep_heap()
    model._build(data)
    model.selection_users_ = selection_users(model, data) if selecting else None
    # again: numba's OpenMP layer (the LEPORID/LE graph inside ``_build``) can share torch's
    # libgomp and reset its thread count, which turns every torch op into a spinning 2-thread
    # team (measured: an HGN epoch on ml-100k took 235 s instead of 3 s on a loaded 2-core
    # machine)
    torch.set_num_threads(training_threads(cfg.threads))
    net = model.network_
    first = model.batches(np.random.default_rng([cfg.seed, 0]))
    steps_per_epoch = len(first)
    if steps_per_epoch == 0:
        raise ValueError(f"{type(model).__name__}: no training batches in this data")
    total = int(cfg.iterations or cfg.epochs * steps_per_epoch)
    eval_every = int(cfg.eval_every or math.ceil(steps_per_epoch / cfg.evals_per_epoch))
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:                  # everything frozen (e.g. BPR-MF with frozen embeddings)
        params, total = [torch.zeros(1, requires_grad=True)], 0
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total, 1))
             if cfg.cosine else None)
    state = {"step": 0, "best": -math.inf, "bad": 0, "done": False, "best_state": None}
    history: list[dict] = []
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.exists():
        _resume(ckpt, model, opt, sched, state, history)
    model.history_ = history
    for fn in _callback_hooks(callbacks, "on_train_begin"):
        fn(model)

    init_name = cfg.init if isinstance(cfg.init, str) else "arrays"
    t0 = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    bar = tqdm(total=total, initial=state["step"], desc=f"{model.name} {init_name}",
               unit="step", disable=not progress, dynamic_ncols=True)
    loss_sum, loss_n, train_time, n_steps = 0.0, 0, 0.0, 0
    cache: tuple[int, list] | None = (0, first)      # epoch 0's batches are drawn already
    del first
    manual = bool(getattr(model, "updates_itself", False))
    net.train()
    try:
        while state["step"] < total and not state["done"]:
            step = state["step"]
            tick = time.perf_counter()
            epoch, pos = divmod(step, steps_per_epoch)
            if cache is None or cache[0] != epoch:
                cache = (epoch, model.batches(np.random.default_rng([cfg.seed, epoch])))
            if manual:              # the model updates its weights itself (e.g. BPR-MF SGD)
                loss = torch.tensor(model.manual_step(cache[1][pos], opt.param_groups[0]["lr"]))
            else:
                loss = model.batch_loss(cache[1][pos])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{model.name}: the training loss is {float(loss)} at "
                                         f"step {step}; lower lr or check the parameters")
            opt.zero_grad(set_to_none=True)
            if not manual:
                loss.backward()
            opt.step()              # a no-op without gradients; keeps the scheduler's order
            if sched is not None:
                sched.step()
            loss_sum += float(loss.detach())
            loss_n += 1
            n_steps += 1
            train_time += time.perf_counter() - tick
            state["step"] = step + 1
            bar.update(1)
            if state["step"] % eval_every == 0 or state["step"] == total:
                entry = _checkpoint_entry(model, data, selecting, state, loss_sum / loss_n,
                                          steps_per_epoch, time.perf_counter() - t0)
                entry["steps_per_s"] = round(n_steps / max(train_time, 1e-9), 2)
                history.append(entry)
                loss_sum, loss_n, train_time, n_steps = 0.0, 0, 0.0, 0
                post = {"loss": f"{entry['loss']:.4f}"}
                if selecting:
                    post[f"val_{cfg.metric}"] = f"{entry['validation'][cfg.metric]:.4f}"
                bar.set_postfix(**post)
                for fn in _callback_hooks(callbacks, "on_validation"):
                    fn(model, entry)
                if ckpt is not None:
                    _save(ckpt, model, opt, sched, state, history)
                net.train()
    finally:
        bar.close()
    if selecting and not history:      # resumed a finished run: make sure a selection exists
        history.append(_checkpoint_entry(model, data, True, state, float("nan"),
                                         steps_per_epoch, time.perf_counter() - t0))
    if state["best_state"] is not None:
        net.load_state_dict(state["best_state"])
    net.eval()
    model._finish()
    if ckpt is not None:
        state["done"] = True
        _save(ckpt, model, opt, sched, state, history)
    for fn in _callback_hooks(callbacks, "on_train_end"):
        fn(model)
    return model


def _checkpoint_entry(model, data, selecting, state, mean_loss, steps_per_epoch, seconds):
    entry = {"step": state["step"], "epoch": round(state["step"] / steps_per_epoch, 3),
             "loss": mean_loss, "seconds": round(seconds, 2)}
    if not selecting:
        return entry
    val = validation_entry(model, data)
    score = val[model.metric]
    improved = score > state["best"]
    if improved:
        state["best"], state["bad"] = score, 0
        state["best_state"] = copy.deepcopy(
            {k: v.detach().cpu() for k, v in model.network_.state_dict().items()})
    else:
        state["bad"] += 1
        if state["bad"] >= model.patience:
            state["done"] = True
    sub = getattr(model, "selection_users_", None)
    entry.update(validation=val, best=improved,
                 validation_users="all" if sub is None else int(len(sub)))
    return entry


def format_entry(e: dict, metric: str = "HR@10") -> str:
    """One line for a history entry: step, epoch, loss, validation metrics, a star if best."""
    head = f"step {e['step']:>6} epoch {e['epoch']:6.2f}  loss {e['loss']:.4f}"
    if "validation" not in e:
        return head + f"  ({e['seconds']:.0f}s)"
    v = e["validation"]
    cols = [f"{k} {v[k]:.4f}" for k in dict.fromkeys(["HR@5", "HR@10", "F1@10", metric])
            if k in v]
    return (head + "  validation " + "  ".join(cols) + f"  ({e['seconds']:.0f}s)"
            + (" *" if e["best"] else ""))


# --------------------------------------------------------------------------- checkpoints
def _save(path: Path, model, opt, sched, state, history) -> None:
    from ..results import atomic_write

    current = {k: v.detach().cpu() for k, v in model.network_.state_dict().items()}
    model.history_ = history
    model_dict = model.checkpoint_dict(state["best_state"] or current)
    ck = {"format": TRAIN_FORMAT, "model": model_dict, "current_state": current,
          "optimizer": opt.state_dict(),
          "scheduler": sched.state_dict() if sched is not None else None,
          "step": state["step"], "best": state["best"], "bad": state["bad"],
          "done": state["done"], "config_key": _config_key(model),
          "fingerprint": json.dumps(model.fingerprint_),
          # the global torch generator drives dropout (NGCF, NCF...): a resumed run continues
          # its stream, so it equals an uninterrupted one bit for bit
          "rng": torch.get_rng_state(),
          "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None}
    buf = io.BytesIO()
    torch.save(ck, buf)
    atomic_write(path, buf.getvalue())


def _resume(path: Path, model, opt, sched, state, history) -> None:
    ck = read_torch_file(path)
    if not isinstance(ck, dict) or ck.get("format") != TRAIN_FORMAT:
        raise ValueError(f"{path}: not a leporid training checkpoint")
    try:
        fingerprint = json.loads(ck["fingerprint"])
        if fingerprint != model.fingerprint_:
            raise ValueError(f"{path}: checkpoint was trained on other data (fingerprint "
                             f"{fingerprint} != {model.fingerprint_}); delete it or choose "
                             "another path")
        if not _same_config(ck["config_key"], model):
            raise ValueError(f"{path}: checkpoint has a different configuration; delete it or "
                             "choose another path")
        model.network_.load_state_dict(ck["current_state"])
        opt.load_state_dict(ck["optimizer"])
        if sched is not None and ck["scheduler"] is not None:
            sched.load_state_dict(ck["scheduler"])
        if ck.get("rng") is not None:
            torch.set_rng_state(ck["rng"])
        if ck.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ck["cuda_rng"])
        state.update(step=int(ck["step"]), best=float(ck["best"]), bad=int(ck["bad"]),
                     done=bool(ck["done"]), best_state=ck["model"]["state_dict"])
        history.extend(json.loads(ck["model"]["attributes"])["history_"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise ValueError(f"{path}: damaged training checkpoint ({type(exc).__name__})") from None

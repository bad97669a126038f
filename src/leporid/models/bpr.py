"""BPR-MF (Rendle et al., UAI 2009) in PyTorch.

score(u, i) = p_u . q_i. Each epoch visits every training pair (u, i) once in random order and
draws, for each, one negative j uniformly from the items u has not trained on (vectorised
rejection sampling). Mini-batch loss

    L = mean_b [ -log sigmoid(p_u . q_i - p_u . q_j) ] + reg * mean_b [ |p_u|^2 + |q_i|^2 + |q_j|^2 ]

optimised with Adam (or SGD / Adagrad). Seeded: the same seed gives the same embeddings on CPU.
Initial embeddings default to N(0, init_std^2); ``user_init`` / ``item_init`` start from given
matrices instead (e.g. LE / LEPORID embeddings). ``user_embeddings_`` and ``item_embeddings_``
(float32 numpy) hold the result. No fold-in: test scores use the embeddings learned on train.
"""

from __future__ import annotations

import numpy as np

from .base import BaseRecommender, check_part

OPTIMIZERS = ("adam", "sgd", "adagrad")


def sample_negatives(users: np.ndarray, train_keys: np.ndarray, n_items: int,
                     rng: np.random.Generator, max_rounds: int = 100) -> np.ndarray:
    """One uniform negative item per user in ``users``, never a training item of that user.

    ``train_keys`` is the sorted array ``user * n_items + item`` of the training pairs.
    """
    neg = rng.integers(0, n_items, size=len(users))
    todo = np.arange(len(users))
    for _ in range(max_rounds):
        keys = users[todo] * n_items + neg[todo]
        pos = np.minimum(np.searchsorted(train_keys, keys), len(train_keys) - 1)
        bad = train_keys[pos] == keys
        todo = todo[bad]
        if not todo.size:
            return neg
        neg[todo] = rng.integers(0, n_items, size=todo.size)
    raise RuntimeError(f"could not draw negatives for {todo.size} users that have trained on "
                       "(almost) every item")


class BPRMF(BaseRecommender):
    """Matrix factorisation trained with the BPR pairwise loss."""

    _param_names = ("factors", "lr", "reg", "epochs", "batch_size", "optimizer", "init_std",
                    "seed", "device")

    def __init__(self, factors: int = 64, lr: float = 1e-2, reg: float = 1e-4, epochs: int = 50,
                 batch_size: int = 1024, optimizer: str = "adam", init_std: float = 0.1,
                 seed: int = 123, device: str = "cpu", user_init: np.ndarray | None = None,
                 item_init: np.ndarray | None = None, progress: bool = False,
                 num_threads: int | None = 1):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; choose from {OPTIMIZERS}")
        self.factors, self.lr, self.reg = int(factors), float(lr), float(reg)
        self.epochs, self.batch_size, self.optimizer = int(epochs), int(batch_size), optimizer
        self.init_std, self.seed, self.device = float(init_std), int(seed), device
        self.user_init, self.item_init, self.progress = user_init, item_init, progress
        self.num_threads = num_threads

    def _initial(self, given, n: int, gen) -> "torch.Tensor":  # noqa: F821
        import torch

        if given is None:
            return torch.randn(n, self.factors, generator=gen) * self.init_std
        given = np.asarray(given, dtype=np.float32)
        if given.shape != (n, self.factors):
            raise ValueError(f"initial embeddings have shape {given.shape}, expected "
                             f"{(n, self.factors)}")
        return torch.from_numpy(given.copy())

    def fit(self, split) -> "BPRMF":
        """Train on ``split.train``. The small per-batch ops run fastest on one CPU thread
        (``num_threads``; torch's setting is restored afterwards)."""
        import torch

        old = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            return self._fit(split)
        finally:
            torch.set_num_threads(old)

    def _fit(self, split) -> "BPRMF":
        import torch
        from tqdm.auto import tqdm

        self.n_users_, self.n_items_ = split.n_users, split.n_items
        self.train_ = split.train
        X = split.train.tocoo()
        users, items = X.row.astype(np.int64), X.col.astype(np.int64)
        keys = np.sort(users * self.n_items_ + items)
        rng = np.random.default_rng(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        dev = torch.device(self.device)
        P = torch.nn.Parameter(self._initial(self.user_init, self.n_users_, gen).to(dev))
        Q = torch.nn.Parameter(self._initial(self.item_init, self.n_items_, gen).to(dev))
        opt_cls = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD,
                   "adagrad": torch.optim.Adagrad}[self.optimizer]
        opt = opt_cls([P, Q], lr=self.lr)
        self.loss_history_ = []
        for _ in tqdm(range(self.epochs), desc="BPR-MF", unit="epoch", disable=not self.progress,
                      leave=False):
            perm = rng.permutation(len(users))
            u_all, i_all = users[perm], items[perm]
            j_all = sample_negatives(u_all, keys, self.n_items_, rng)
            u_t, i_t, j_t = (torch.from_numpy(a).to(dev) for a in (u_all, i_all, j_all))
            total = 0.0
            for s in range(0, len(perm), self.batch_size):
                u, i, j = u_t[s:s + self.batch_size], i_t[s:s + self.batch_size], \
                    j_t[s:s + self.batch_size]
                pu, qi, qj = P[u], Q[i], Q[j]
                x = (pu * (qi - qj)).sum(1)
                loss = -torch.nn.functional.logsigmoid(x).mean() + self.reg * (
                    pu.square().sum(1) + qi.square().sum(1) + qj.square().sum(1)).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(u)
            self.loss_history_.append(total / max(len(perm), 1))
        self.user_embeddings_ = P.detach().cpu().numpy().astype(np.float32)
        self.item_embeddings_ = Q.detach().cpu().numpy().astype(np.float32)
        return self

    def score(self, users: np.ndarray, part: str = "test") -> np.ndarray:
        self._check_fitted()
        check_part(part)
        users = np.asarray(users, dtype=np.int64)
        return self.user_embeddings_[users] @ self.item_embeddings_.T


def bpr_initializer(train, dim=64, seed=123, reg=0.1, lr=0.25, epochs=50, batch_size=1024,
                    optimizer="sgd"):
    """Embeddings of a trained BPR-MF (paper: reg 0.1, lr 0.25, SGD) — the ``bpr`` scheme.

    Registered lazily in ``leporid.init`` as ``"leporid.models.bpr:bpr_initializer"``, so the
    init layer never imports models; this is ``BPRMF`` itself, trained on ``train``.
    """
    from types import SimpleNamespace

    data = SimpleNamespace(train=train, n_users=train.shape[0], n_items=train.shape[1])
    model = BPRMF(factors=dim, lr=lr, reg=reg, epochs=epochs, batch_size=batch_size,
                  optimizer=optimizer, seed=seed).fit(data)
    return model.user_embeddings_, model.item_embeddings_, {"loss": model.loss_history_}

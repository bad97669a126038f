"""Sequential training data: sliding windows, user states, and negative sampling.

All functions work on per-user chronological sequences in CSR form ``(indptr, items)`` as
returned by ``Split.sequences(...)`` and are vectorised (no Python loop over users or windows).

Padding rule
------------
A state always holds ``l`` item indices, oldest first. When a user has fewer than ``l`` items
before the target (short training histories, or a state built from a short history), the
state is **left-padded** with the padding index ``pad`` (the models use ``pad = n_items``, an
all-zero embedding row that is never trained and never ranked). A user with no history at all
gets an all-padding state; nobody is dropped.

Windows
-------
For a user with training sequence ``x_0 .. x_{n-1}`` every position ``t >= t0`` is a target,
with state ``x_{t-l} .. x_{t-1}`` (left-padded), where ``t0 = l`` when ``n > l`` (full windows
only, as the authors' code builds them) and ``t0 = 1`` when ``n <= l`` (so that users with
short histories still contribute ``n - 1`` padded windows instead of being dropped).

Multi-target windows (HGN: ``T`` targets per window, :func:`target_windows`) keep the same
starts ``t0`` and state rule; the targets are ``x_t .. x_{t+T-1}`` and the starts run over
``t0 .. max(n - T, t0)``. A window near the end of a short sequence may have fewer than ``T``
real targets: the missing slots are **right-padded** with ``pad`` (the loss masks them), so a
user with 2 training items still gives one window (state ``[pad..., x_0]``, targets
``[x_1, pad, ...]``). With ``T = 1`` this is exactly :func:`sliding_windows`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def last_items(indptr: np.ndarray, items: np.ndarray, length: int, pad: int) -> np.ndarray:
    """The last ``length`` items of every sequence, oldest first, left-padded with ``pad``.

    Returns an int64 array of shape (n_sequences, length).
    """
    indptr = np.asarray(indptr, np.int64)
    items = np.asarray(items, np.int64)
    ends = indptr[1:]
    pos = ends[:, None] + np.arange(-length, 0, dtype=np.int64)[None, :]
    valid = pos >= indptr[:-1, None]
    out = np.full(pos.shape, pad, np.int64)
    out[valid] = items[pos[valid]]
    return out


def user_states(split, part: str, length: int, pad: int | None = None) -> np.ndarray:
    """Every user's state for scoring ``part`` (DESIGN.md §3), shape (n_users, length).

    ``validation``: the last ``length`` training items. ``test``: the last ``length`` items
    before the test period, i.e. the validation items topped up from the end of train, kept in
    chronological order. Left-padded with ``pad`` (default ``split.n_items``).
    """
    pad = split.n_items if pad is None else pad
    if part == "validation":
        indptr, items = split.sequences("train")
    elif part == "test":
        indptr, items = split.sequences("train", "validation")
    else:
        raise ValueError(f"part must be 'validation' or 'test', got {part!r}")
    return last_items(indptr, items, length, pad)


def sliding_windows(indptr: np.ndarray, items: np.ndarray, length: int,
                    pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All training windows ``(users, states, targets)`` of the sequences (see module doc).

    ``users`` (N,), ``states`` (N, length) oldest first, ``targets`` (N,); int64, in user order
    and chronological order within a user.
    """
    users, states, targets = target_windows(indptr, items, length, 1, pad)
    return users, states, targets[:, 0]


def target_windows(indptr: np.ndarray, items: np.ndarray, length: int, n_targets: int,
                   pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training windows with ``n_targets`` consecutive targets each (see module doc).

    Returns ``users`` (N,), ``states`` (N, length) oldest first, left-padded, and ``targets``
    (N, n_targets) in chronological order, right-padded with ``pad`` past the end of the
    sequence; int64, in user order and chronological order within a user. Every sequence with
    at least 2 items yields at least one window; shorter ones yield none.
    """
    if int(length) != length or length < 1 or int(n_targets) != n_targets or n_targets < 1:
        raise ValueError(f"length and n_targets must be integers >= 1, got {length!r}, "
                         f"{n_targets!r}")
    indptr = np.asarray(indptr, np.int64)
    items = np.asarray(items, np.int64)
    n = np.diff(indptr)
    t0 = np.where(n > length, length, 1)
    t_last = np.maximum(n - n_targets, t0)
    n_win = np.where(n > t0, t_last - t0 + 1, 0)
    users = np.repeat(np.arange(len(n), dtype=np.int64), n_win)
    # position of each window's first target inside its user's sequence
    first = np.cumsum(n_win) - n_win
    t = np.arange(len(users), dtype=np.int64) - first[users] + t0[users]
    start = indptr[users] + t
    offs = np.arange(-length, 0, dtype=np.int64)[None, :]
    valid = (t[:, None] + offs) >= 0
    states = np.full((len(users), length), pad, np.int64)
    states[valid] = items[(start[:, None] + offs)[valid]]
    tpos = t[:, None] + np.arange(n_targets, dtype=np.int64)[None, :]
    tvalid = tpos < n[users][:, None]
    targets = np.full((len(users), n_targets), pad, np.int64)
    targets[tvalid] = items[(indptr[users][:, None] + tpos)[tvalid]]
    return users, states, targets


class NegativeSampler:
    """Uniform negatives among the items a user has *not* trained on; exact and vectorised.

    For a user with sorted training items ``a_0 < ... < a_{k-1}``, the ``r``-th non-training item
    (``0 <= r < n_items - k``) is ``r + #{j : a_j - j <= r}``; ``a_j - j`` is non-decreasing, so
    one global ``searchsorted`` answers a whole batch. No rejection loop, no dense matrix.
    """

    def __init__(self, train: sp.spmatrix):
        train = sp.csr_matrix(train)
        train.sort_indices()
        self.n_users, self.n_items = train.shape
        self.indptr = train.indptr.astype(np.int64)
        deg = np.diff(self.indptr)
        self.n_free = self.n_items - deg
        rank = np.arange(len(train.indices), dtype=np.int64) - np.repeat(self.indptr[:-1], deg)
        b = train.indices.astype(np.int64) - rank
        self._stride = np.int64(self.n_items + 1)
        self._keys = np.repeat(np.arange(self.n_users, dtype=np.int64), deg) * self._stride + b

    def sample(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One negative item per entry of ``users`` (int64)."""
        users = np.asarray(users, np.int64)
        free = self.n_free[users]
        if users.size and free.min() <= 0:
            bad = users[free <= 0][0]
            raise ValueError(f"user {bad} has trained on every item; no negative to sample")
        r = np.floor(rng.random(len(users)) * free).astype(np.int64)
        r = np.minimum(r, free - 1)
        count = np.searchsorted(self._keys, users * self._stride + r, side="right") \
            - self.indptr[users]
        return r + count

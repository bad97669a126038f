"""Approximate Jaccard K-nearest-neighbour graphs for inputs too large for all pairs.

Three steps, all compiled (numba, ``cache=True``), memory ``O(n · bands)``, never ``O(n²)``:

1. **MinHash LSH candidates.** Each row gets ``2 · bands`` MinHash values (the smallest of a
   random 32-bit code over its items, one code table per hash): for one hash,
   ``P[min_u = min_v] = J(u, v)``. Hashes are paired into ``bands`` band keys, so rows ``u, v``
   share a band bucket with probability ``J²`` and collide ``bands · J²`` times in expectation.
   Each row visits the members of its bucket in every band (at most ``window`` of them, taken
   around its own place in a random order when the bucket is larger) and counts collisions; the
   ``candidates`` rows with the most collisions (an estimate of ``J``) are kept.
2. **Exact re-ranking.** ``J(u, v)`` is computed exactly for every kept candidate, and the ``k``
   best are kept with the exact graph's rule (similarity > 0; among equal similarities the lower
   index).
3. **Neighbours of neighbours**, incrementally (NN-descent's observation that a neighbour's
   neighbour is likely a neighbour): each round, a row reads the lists of its neighbours and
   scores exactly the rows it finds there. A neighbour is read in full once (at most ``fan``
   new ones per row and round, the best first), and after that only for the entries added to
   its list since the row last read it — every list entry records the round it was added, and
   every entry of a row's own list the round the row last read that neighbour. So a round
   costs what changed, the rounds get cheap as the lists settle, and they go on until one
   changes fewer than ``stop`` per 10,000 entries: when a round changes nothing, every row's
   list is closed under neighbours of neighbours (no row two steps away beats it).

Why this shape: on recommendation data similarities are low and flat (on a power-law synthetic
set with 50 items per user the 100th neighbour has J ≈ 0.15 and the first ≈ 0.2), so a single
band of ``r ≥ 3`` hashes almost never collides; pairs of hashes with many bands, ranked by
collision count and re-ranked exactly, separate neighbours (≈ bands · 0.02 collisions) from
typical rows (≈ bands · 0.001) while the buckets stay small. The values in the graph are exact
Jaccard similarities; only the neighbour *sets* are approximate — ``neighbour_recall`` measures
how far on a sample of rows.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from .. import DEFAULT_SEED
from .compile import warm_up

_EMPTY = np.uint32(0xFFFFFFFF)
# Refinement defaults: rounds until one changes under 0.1% of the entries, at most REFINE.
# The rounds cost what changed, so running them to near convergence is cheap (200k users:
# rounds 4-6 take 11, 4 and 3 s after 114, 88 and 53 s; benchmarks/README.md).
REFINE = 30
STOP = 10
_MAX_ROUNDS = np.iinfo(np.int16).max - 1   # round stamps are int16


@njit(parallel=True, cache=True, nogil=True)
def _minhash(indptr, indices, table, sig):
    """sig[u, j] = min over items i of row u of table[i, j] (all ones for an empty row)."""
    h = table.shape[1]
    for u in prange(len(indptr) - 1):
        row = sig[u]
        for j in range(h):
            row[j] = 0xFFFFFFFF
        for p in range(indptr[u], indptr[u + 1]):
            t = table[indices[p]]
            for j in range(h):
                if t[j] < row[j]:
                    row[j] = t[j]


@njit(cache=True, nogil=True)
def _score(cand, sims, start, nc, u, indptr, indices, mark, deg):
    """sims[c] = exact J(u, cand[c]) for c in start..nc-1 (u's items marked with ``u + 1``)."""
    for c in range(start, nc):
        v = cand[c]
        inter = 0
        for p in range(indptr[v], indptr[v + 1]):
            if mark[indices[p]] == u + 1:
                inter += 1
        # float32-rounded, like the stored values the refinement compares them with
        sims[c] = np.float32(inter / (deg[u] + deg[v] - inter)) if inter > 0 else 0.0


@njit(cache=True, nogil=True)
def _select(cand, sims, nc, k, out_idx, out_val, known=0, added=None, seen=None,
            out_added=None, out_seen=None):
    """The k best of ``cand[:nc]`` by ``sims`` (> 0; ties to the lower index), written by
    descending similarity; returns how many, and how many of them are not among the first
    ``known`` candidates (a row's current list: the changes a refinement round made). With
    ``added``/``seen``, each kept candidate's two round stamps go along with it."""
    by_index = np.argsort(cand[:nc], kind="mergesort")
    order = by_index[np.argsort(-sims[:nc][by_index], kind="mergesort")]
    m = 0
    fresh = 0
    for o in order:
        if m == k or sims[o] <= 0.0:
            break
        out_idx[m] = cand[o]
        out_val[m] = sims[o]
        if added is not None:
            out_added[m] = added[o]
            out_seen[m] = seen[o]
        m += 1
        if o >= known:
            fresh += 1
    return m, fresh


@njit(parallel=True, cache=True, nogil=True)
def _lsh_knn(lo, hi, order, pos, gstart, gend, indptr, indices, deg, n_items, k, window,
             n_cand, out_idx, out_val, out_cnt, n_threads):
    """Rows lo..hi-1: LSH candidates ranked by collision count, re-ranked exactly."""
    n = deg.shape[0]
    bands = order.shape[0]
    stamp = np.full((n_threads, n), -1, np.int64)
    count = np.zeros((n_threads, n), np.int32)
    mark = np.zeros((n_threads, n_items), np.int64)
    cap = bands * window
    cands = np.empty((n_threads, cap), np.int32)
    for u in prange(lo, hi):
        b = u - lo
        if deg[u] == 0:
            out_cnt[b] = 0
            continue
        tid = numba.get_thread_id()
        st, ct, cand = stamp[tid], count[tid], cands[tid]
        nc = 0
        for t in range(bands):
            p = pos[t, u]
            s, e = gstart[t, p], gend[t, p]
            if e - s > window:  # a large bucket: the window around u in the random order
                s = max(s, p - window // 2)
                e = min(gend[t, p], s + window)
                s = max(gstart[t, p], e - window)
            for q in range(s, e):
                v = order[t, q]
                if v == u:
                    continue
                if st[v] != u:
                    st[v] = u
                    ct[v] = 0
                    cand[nc] = v
                    nc += 1
                ct[v] += 1
        if nc > n_cand:  # keep the n_cand most frequent collisions (an estimate of J)
            cnt = np.empty(nc, np.int32)
            for c in range(nc):
                cnt[c] = -ct[cand[c]]
            keep = np.argsort(cnt, kind="mergesort")[:n_cand]
            cand[:n_cand] = cand[keep]
            nc = n_cand
        mk = mark[tid]
        for p in range(indptr[u], indptr[u + 1]):
            mk[indices[p]] = u + 1
        sims = np.empty(nc, np.float64)
        _score(cand, sims, 0, nc, u, indptr, indices, mk, deg)
        out_cnt[b] = _select(cand, sims, nc, k, out_idx[b], out_val[b])[0]


@njit(parallel=True, cache=True, nogil=True)
def _refine(rnd, idx, val, cnt, added, seen, indptr, indices, deg, n_items, k, fan, new_idx,
            new_val, new_cnt, new_added, new_seen, changed, deferred, n_threads):
    """Round ``rnd`` (from 1) of incremental neighbours-of-neighbours over padded lists
    (by descending similarity). ``added[v, q]``: the round entry q of v's list was added in
    (0: the LSH step); ``seen[u, c]``: the round u last read the list of its neighbour c (-1:
    never). Row u reads in full the lists of at most ``fan`` never-read neighbours (the best
    first; ``deferred[u]`` counts the others, read in later rounds) and, of the neighbours it
    has read, only the entries added since; the new rows found are scored exactly and merged.
    ``changed[u]``: how many of u's new neighbours are new."""
    n = deg.shape[0]
    stamp = np.full((n_threads, n), -1, np.int64)
    mark = np.zeros((n_threads, n_items), np.int64)
    cap = min(n, k + k * k)  # a row's candidates are distinct rows
    cands = np.empty((n_threads, cap), np.int32)
    simss = np.empty((n_threads, cap), np.float64)
    addeds = np.empty((n_threads, cap), np.int16)
    seens = np.empty((n_threads, cap), np.int16)
    for u in prange(n):
        tid = numba.get_thread_id()
        st, cand, mk, sims = stamp[tid], cands[tid], mark[tid], simss[tid]
        ad, se = addeds[tid], seens[tid]
        nc = 0
        for c in range(cnt[u]):  # current neighbours keep their (exact) similarities
            v = idx[u, c]
            st[v] = u
            cand[nc] = v
            sims[nc] = val[u, c]
            ad[nc] = added[u, c]
            se[nc] = seen[u, c]
            nc += 1
        known = nc
        first_reads = 0
        for c in range(known):
            v = cand[c]
            since = se[c]
            if since < 0:
                if first_reads == fan:
                    deferred[u] += 1
                    continue
                first_reads += 1
            for q in range(cnt[v]):
                if added[v, q] < since:  # read already
                    continue
                w = idx[v, q]
                if w != u and st[w] != u:
                    st[w] = u
                    cand[nc] = w
                    ad[nc] = rnd
                    se[nc] = -1
                    nc += 1
            se[c] = rnd
        if nc == 0:
            new_cnt[u] = 0
            changed[u] = 0
            continue
        for p in range(indptr[u], indptr[u + 1]):
            mk[indices[p]] = u + 1
        _score(cand, sims, known, nc, u, indptr, indices, mk, deg)
        new_cnt[u], changed[u] = _select(cand, sims, nc, k, new_idx[u], new_val[u], known, ad,
                                         se, new_added[u], new_seen[u])


def _band_tables(sig, rng):
    """Per band: rows sorted by band key (random order inside a bucket), each row's position,
    and the bucket bounds of every position. Empty rows get buckets of their own."""
    n, h = sig.shape
    bands = h // 2
    order = np.empty((bands, n), np.int32)
    pos = np.empty((bands, n), np.int32)
    gstart = np.empty((bands, n), np.int32)
    gend = np.empty((bands, n), np.int32)
    empty = sig[:, 0] == _EMPTY
    ar = np.arange(n, dtype=np.int32)
    for t in range(bands):
        key = (sig[:, 2 * t].astype(np.uint64) << np.uint64(32)) | sig[:, 2 * t + 1]
        # empty rows (all-ones signatures) would share every bucket: give each its own key;
        # a rare clash with a real key only adds a candidate of similarity 0, never kept
        key[empty] = ar[empty].astype(np.uint64) | (np.uint64(1) << np.uint64(63))
        perm = rng.permutation(n).astype(np.int32)
        o = perm[np.argsort(key[perm], kind="stable")]
        ks = key[o]
        new = np.empty(n, bool)
        new[0] = True
        np.not_equal(ks[1:], ks[:-1], out=new[1:])
        starts = np.flatnonzero(new).astype(np.int32)
        gid = np.cumsum(new) - 1
        ends = np.append(starts[1:], np.int32(n)).astype(np.int32)
        order[t] = o
        pos[t, o] = ar
        gstart[t] = starts[gid]
        gend[t] = ends[gid]
    return order, pos, gstart, gend


def approx_knn_rows(X, k: int, *, bands: int = 64, window: int = 64,
                    candidates: int | None = None, refine: int = REFINE, fan: int | None = None,
                    stop: int = STOP, seed: int = DEFAULT_SEED, info: dict | None = None):
    """Directed approximate Jaccard KNN of the rows of binary ``X``: CSR arrays
    (indptr, indices, values) like ``knn_rows``, values exact Jaccard similarities.

    ``bands`` band keys of 2 MinHashes each (fewer when memory is short: the tables take
    16 bytes per row and band); ``window`` bucket members visited per band; ``candidates``
    (default ``8 k``) kept by collision count for exact scoring; then up to ``refine``
    incremental neighbours-of-neighbours rounds, reading at most ``fan`` new neighbours' lists
    per row and round (default ``min(k, 64)``), until a round changes fewer than ``stop`` per
    10,000 list entries (default 10: 0.1%). The defaults are sized for K ≈ 100 (measured in
    ``benchmarks/README.md``). ``seed`` drives the LSH step; the rounds are deterministic.
    ``info`` receives ``refine_changed`` (each round's share of changed entries).
    """
    from .jaccard import _binary_csr

    check_refinement(refine, fan)  # before the LSH step, which takes minutes at scale
    X = _binary_csr(X)
    lists = lsh_neighbours(X, k, bands=bands, window=window, candidates=candidates, seed=seed)
    return refined_rows(X, lists, refine=refine, fan=fan, stop=stop, info=info)


def refined_rows(X, lists, *, refine: int = REFINE, fan: int | None = None, stop: int = STOP,
                 info: dict | None = None):
    """Step 3 over the padded lists of all rows, as CSR arrays (indptr, indices, values), with
    ``info["refine_changed"]`` (each round's share of changed entries). The one ending of both
    builds — ``approx_knn_rows`` here, and the Dask build over the lists it gathers
    (``distributed.submit_knn_rows``) — so they report the same rounds. Parameters as
    ``approx_knn_rows``'s."""
    rinfo: dict = {}
    rows = padded_to_csr(*refine_neighbours(X, lists, rounds=refine, fan=fan, stop=stop,
                                            info=rinfo))
    if info is not None:
        info["refine_changed"] = rinfo["changed"]
    return rows


def lsh_neighbours(X, k: int, *, bands: int = 64, window: int = 64,
                   candidates: int | None = None, seed: int = DEFAULT_SEED,
                   rows: tuple[int, int] | None = None, tables=None):
    """Steps 1-2 for rows ``lo..hi-1`` (all by default): padded lists (idx, val, count), each
    row's neighbours by descending exact similarity. ``tables`` from ``lsh_tables`` can be
    shared between row blocks (the distributed build)."""
    from .jaccard import _binary_csr, _csr_arrays

    X = _binary_csr(X)
    n, m = X.shape
    if k < 1:
        raise ValueError(f"k (number of neighbours) must be ≥ 1, got {k}")
    if bands < 1 or window < 2:
        raise ValueError(f"bands must be ≥ 1 and window ≥ 2, got {bands} and {window}")
    k = min(k, max(n - 1, 1))
    n_cand = max(k, candidates if candidates is not None else 8 * k)
    indptr, indices = _csr_arrays(X)
    deg = np.diff(indptr).astype(np.float64)
    if tables is None:
        tables = lsh_tables(X, bands, seed)
    lo, hi = rows if rows is not None else (0, n)
    out_idx = np.zeros((hi - lo, k), np.int32)
    out_val = np.zeros((hi - lo, k), np.float32)
    out_cnt = np.zeros(hi - lo, np.int32)
    _lsh_knn(lo, hi, *tables, indptr, indices, deg, m, k, window, n_cand, out_idx, out_val,
             out_cnt, numba.get_num_threads())
    return out_idx, out_val, out_cnt


def refine_neighbours(X, lists, *, rounds: int = REFINE, fan: int | None = None,
                      stop: int = STOP, info: dict | None = None):
    """Step 3: up to ``rounds`` of incremental neighbours-of-neighbours over padded lists of
    all rows (see the module's docstring): each row reads in full the lists of at most ``fan``
    neighbours it has not read yet (the best first), and of the others only what was added
    since it read them. Stops when a round changed fewer than ``stop`` per 10,000 list entries
    and no row has neighbours left to read (0: never stop early). After a round that changed
    nothing, every list is closed: no row two steps away is better than a row's K-th.
    ``info["changed"]`` gets each round's share of changed entries."""
    from .jaccard import _binary_csr, _csr_arrays

    check_refinement(rounds, fan)
    X = _binary_csr(X)
    out_idx, out_val, out_cnt = lists
    k = out_idx.shape[1]
    fan = min(k, 64) if fan is None else fan
    indptr, indices = _csr_arrays(X)
    deg = np.diff(indptr).astype(np.float64)
    added = np.zeros(out_idx.shape, np.int16)     # the LSH lists: round 0
    seen = np.full(out_idx.shape, -1, np.int16)   # no neighbour's list read yet
    shares = []
    for rnd in range(1, rounds + 1):
        new = (np.zeros_like(out_idx), np.zeros_like(out_val), np.zeros_like(out_cnt),
               np.zeros_like(added), np.zeros_like(seen))
        changed = np.zeros_like(out_cnt)
        deferred = np.zeros_like(out_cnt)
        _refine(rnd, out_idx, out_val, out_cnt, added, seen, indptr, indices, deg, X.shape[1],
                k, fan, *new, changed, deferred, numba.get_num_threads())
        out_idx, out_val, out_cnt, added, seen = new
        shares.append(float(changed.sum()) / max(int(out_cnt.sum()), 1))
        if shares[-1] * 10_000 < stop and not deferred.any():
            break
    if info is not None:
        info["changed"] = shares
    return out_idx, out_val, out_cnt


def check_refinement(refine: int, fan: int | None = None) -> None:
    """ValueError unless ``refine`` rounds fit the int16 round stamps and ``fan`` ≥ 1 (None:
    the default). Called where the parameters arrive, before any graph work."""
    if not 0 <= refine <= _MAX_ROUNDS:
        raise ValueError(f"refine (rounds) must be in 0..{_MAX_ROUNDS}, got {refine}")
    if fan is not None and fan < 1:
        raise ValueError(f"fan must be ≥ 1, got {fan}")


_PARAMS = {"bands": int, "window": int, "candidates": int, "refine": int, "fan": int,
           "stop": int, "seed": int, "sample": int, "compare": int}


def parse_approximate(spec: str | None) -> dict:
    """``"bands=64,refine=3"`` -> ``{"bands": 64, "refine": 3}`` ("" -> defaults); ValueError
    naming the bad part. ``sample`` (rows for the recall check) and ``compare`` (1: also run
    the exact pipeline and compare) are options of the caller, not of ``approx_knn_rows``."""
    out: dict = {}
    for part in filter(None, (spec or "").split(",")):
        key, eq, value = part.partition("=")
        key = key.strip()
        if key not in _PARAMS or not eq:
            raise ValueError(f"--approximate {spec!r}: expected comma-separated KEY=INT with KEY "
                             f"in {', '.join(_PARAMS)}; got {part!r}")
        try:
            v = int(value)
        except ValueError:
            raise ValueError(f"--approximate {spec!r}: {key} must be a whole number, "
                             f"got {value!r}") from None
        if v < (0 if key in ("refine", "stop", "seed", "sample", "compare") else 1):
            raise ValueError(f"--approximate {spec!r}: {key} must be positive, got {v}")
        out[key] = v
    try:
        check_refinement(out.get("refine", REFINE), out.get("fan"))
    except ValueError as exc:
        raise ValueError(f"--approximate {spec!r}: {exc}") from None
    return out


def neighbour_recall(X, indptr, indices, k: int, *, sample: int = 200, seed: int = DEFAULT_SEED,
                     chunk_bytes: int = 256 << 20) -> float:
    """Mean recall of the exact K nearest neighbours over ``sample`` random rows: the share of
    a row's exact top-``k`` similarity mass reached, counting a listed neighbour as correct when
    its exact similarity is at least the row's exact k-th largest (ties are interchangeable).
    The exact similarities of the sampled rows come from a sparse product, chunk by chunk."""
    from .jaccard import _binary_csr

    X = _binary_csr(X)
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    deg = np.diff(X.indptr).astype(np.float64)
    XT = X.T.tocsr()
    step = max(1, chunk_bytes // (8 * max(n, 1)))
    recalls = []
    for c0 in range(0, len(rows), step):
        r = rows[c0:c0 + step]
        C = (X[r] @ XT).toarray().astype(np.float64)
        S = np.where(C > 0, C / np.maximum(deg[r, None] + deg[None, :] - C, 1.0), 0.0)
        S[np.arange(len(r)), r] = 0.0
        for j, u in enumerate(r):
            pos = S[j][S[j] > 0]
            if len(pos) == 0:
                continue
            want = min(k, len(pos))
            kth = np.partition(pos, len(pos) - want)[len(pos) - want]
            got = S[j][indices[indptr[u]:indptr[u + 1]]]
            recalls.append(min(1.0, float((got >= kth).sum()) / want))
    return float(np.mean(recalls)) if recalls else 1.0


def affordable_bands(n: int, bands: int) -> int:
    """``bands``, reduced (with a warning) so the tables take at most a third of the memory
    available now."""
    from .jaccard import available_memory

    fit = max(4, int(available_memory() / 3 // (16 * max(n, 1))))
    if fit < bands:
        import warnings

        warnings.warn(f"approximate graph: {bands} LSH bands need {bands * n * 16 / 2**30:.1f} "
                      f"GiB; using {fit}", RuntimeWarning, stacklevel=1)
        return fit
    return bands


def lsh_tables(X, bands: int = 64, seed: int = DEFAULT_SEED):
    """MinHash signatures of the rows of binary CSR ``X`` and their band tables."""
    from .jaccard import _csr_arrays

    bands = affordable_bands(X.shape[0], bands)
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 2**32 - 1, size=(X.shape[1], 2 * bands), dtype=np.uint32)
    sig = np.empty((X.shape[0], 2 * bands), np.uint32)
    _minhash(*_csr_arrays(X), table, sig)
    del table
    return _band_tables(sig, rng)


def padded_to_csr(out_idx, out_val, out_cnt):
    """(indptr, indices ascending per row, values) from per-row padded neighbour lists."""
    n, k = out_idx.shape
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(out_cnt, out=indptr[1:])
    mask = np.arange(k)[None, :] < out_cnt[:, None]
    # sort each row by index: rows by (row, index) through one lexsort of the kept entries
    r = np.repeat(np.arange(n), out_cnt)
    idx, val = out_idx[mask], out_val[mask]
    o = np.lexsort((idx, r))
    return indptr, idx[o], val[o]


def warm_up_kernels(quiet: bool = False) -> float:
    """Load (or compile once) the approximate-graph kernels; seconds spent compiling."""
    from .jaccard import _binary_csr

    X = _binary_csr(sp.csr_matrix(np.array([[1, 1], [1, 0], [0, 1], [1, 1]], np.float32)))
    return warm_up(lambda: approx_knn_rows(X, 1, bands=2, window=2, refine=1),
                   (_minhash, _lsh_knn, _refine, _score, _select), "approximate graph", quiet=quiet)

"""Verdicts for the paper's claims from paired tests over users.

Every comparison pairs two methods on the *same* users of one split (per-user metric values,
averaged over seeds first):

- ``a > b``: Wilcoxon signed-rank test (two-sided, zero differences dropped) on ``a - b``.
  ``holds`` when p < ``level`` and the mean difference is positive; ``does not hold`` when
  p < ``level`` and it is negative; otherwise ``within noise`` (also when every difference is
  zero or there are fewer than 6 non-zero pairs, too few for the test to reach 5%).
- ``a ≈ b``: ``holds`` when the difference is within noise, ``does not hold`` otherwise.
- A ratio of means (a relative improvement on a subset vs. on everyone) is tested with a paired
  bootstrap over users (``bootstrap_diff``): ``holds`` when the 1 - ``level`` interval lies
  above 0, ``does not hold`` when below, ``within noise`` when it contains 0.

A claim made of several comparisons (``combine``): ``does not hold`` if any comparison does not
hold, ``holds`` if all hold, ``within noise`` otherwise; ``not run`` when nothing could be
compared. The level is 0.05 per comparison, without a multiple-comparison correction (the claims
are the paper's, stated per comparison), and the report says so.
"""

from __future__ import annotations

import numpy as np

from .. import DEFAULT_SEED

HOLDS, FAILS, NOISE, NOT_RUN = "holds", "does not hold", "within noise", "not run"
LEVEL = 0.05


def paired_test(a, b, level: float = LEVEL) -> dict:
    """Wilcoxon signed-rank on the paired per-user values ``a``, ``b`` (claim: a > b)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired arrays differ in shape: {a.shape} vs {b.shape}")
    d = a - b
    out = {"n": int(len(d)), "mean_a": _mean(a), "mean_b": _mean(b), "mean_diff": _mean(d),
           "p": 1.0, "test": "wilcoxon"}
    nz = d[d != 0]
    if len(nz) >= 6:
        from scipy.stats import wilcoxon

        out["p"] = float(wilcoxon(nz).pvalue)
    if out["p"] < level:
        out["verdict"] = HOLDS if out["mean_diff"] > 0 else FAILS
    else:
        out["verdict"] = NOISE
    return out


def similar(a, b, level: float = LEVEL) -> dict:
    """Claim a ≈ b: holds when the paired test finds no difference."""
    t = paired_test(a, b, level)
    t["verdict"] = HOLDS if t["verdict"] == NOISE else FAILS
    t["relation"] = "≈"
    return t


def bootstrap_diff(stat, arrays: list[np.ndarray], n_boot: int = 2000, seed: int = DEFAULT_SEED,
                   level: float = LEVEL) -> dict:
    """Paired bootstrap over users of ``stat(*resampled arrays)`` (claim: stat > 0)."""
    arrays = [np.asarray(x) for x in arrays]
    n = len(arrays[0])
    rng = np.random.default_rng(seed)
    point = float(stat(*arrays))
    boots = np.array([stat(*[x[idx] for x in arrays])
                      for idx in (rng.integers(0, n, n) for _ in range(n_boot))], float)
    boots = boots[np.isfinite(boots)]
    lo, hi = (np.quantile(boots, [level / 2, 1 - level / 2]) if len(boots)
              else (np.nan, np.nan))
    verdict = HOLDS if lo > 0 else FAILS if hi < 0 else NOISE
    return {"n": int(n), "estimate": point, "ci": [float(lo), float(hi)], "test": "bootstrap",
            "verdict": verdict}


def combine(verdicts: list[str]) -> str:
    vs = [v for v in verdicts if v != NOT_RUN]
    if not vs:
        return NOT_RUN
    if FAILS in vs:
        return FAILS
    if all(v == HOLDS for v in vs):
        return HOLDS
    return NOISE


def claim(name: str, text: str, comparisons: list[dict], note: str = "") -> dict:
    """A claim record: its text, its comparisons (each with a ``verdict``) and the verdict."""
    return {"claim": name, "text": text, "verdict": combine([c["verdict"] for c in comparisons]),
            "comparisons": comparisons, "note": note}


def _mean(x) -> float:
    return float(np.mean(x)) if len(x) else float("nan")

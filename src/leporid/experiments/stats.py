"""Verdicts for the paper's claims: seeds *and* users, equivalence by TOST, Holm within a claim.

A method is replicated by training seeds; its test set is a sample of users. Seed-to-seed
variance is the main source of variation in such benchmarks, and a comparison that ignores it
compares two *trained models*, not two *methods* (Bouthillier et al., "Accounting for Variance
in Machine Learning Benchmarks", MLSys 2021). ``compare(a, b)`` therefore takes per-user values
of each method's runs, ``a`` of shape (seeds of A, users) and ``b`` (seeds of B, users), the
same users in the same column order, and estimates the mean difference
``Δ = mean(a) - mean(b)`` with a variance that contains both sources.

**Model.** ``y[m, s, u] = μ_m + u_u + h[m, u] + s[m, s] + e[m, s, u]``: a user effect shared by
the methods (it cancels in Δ), a method × user interaction ``h`` (users on whom a method helps
more or less: the user sampling of the test set), a seed effect per run ``s`` and a residual.
Seeds of the two methods are not paired (seed 123 of one method shares nothing that matters
with seed 123 of another; where it does, the correlation is positive and ignoring it is
conservative), so the sides may have different numbers of seeds. Then

    Var(Δ) = Var_s(ā_s)/S_a + Var_s(b̄_s)/S_b + σ²_h / U,

where ``ā_s`` is run s's mean over users (its spread over seeds carries the seed effect and the
residual: ``σ²_s + σ²_e/U``), and ``σ²_h`` is the variance over users of the seed-averaged
per-user difference less its residual part (``σ²_e,a/S_a + σ²_e,b/S_b``, the two-way ANOVA
residual of each method's seeds × users table). The interval is ``Δ ± t·√Var`` with
Welch–Satterthwaite degrees of freedom, dominated by the seeds (``S_a + S_b - 2`` when the seed
variances are equal). This is the seed-level t-interval of per-run means, widened by the user
sampling; unlike a bootstrap over 3 seeds, which underestimates the seed variance by a factor
(S-1)/S and uses normal quantiles, it keeps its level with 3 seeds (the A/A simulation in
``tests/test_stats_simulation.py``: ≤ 7% false verdicts).

**Verdicts** (the three words are used everywhere: CLI, JSON, report):

- ``a > b``: *holds* when Δ > 0 is significant (two-sided p < ``level``, i.e. the 95% interval
  lies above 0), *does not hold* when Δ < 0 is, *inconclusive (CI spans 0)* otherwise.
- ``a ≈ b`` within ``±margin`` (default ``MARGIN`` = 0.01 HR@10, absolute): *holds* when the
  two one-sided tests (TOST) reject ``|Δ| ≥ margin`` (the 90% interval lies inside ±margin),
  *does not hold* when the 95% interval lies outside it, *inconclusive* otherwise. A
  non-significant difference is never taken as equivalence.
- Fewer than ``MIN_SEEDS`` = 3 seeds on either side: *inconclusive (n seeds)*, whatever the
  data; the user-level test of the two trained models (Wilcoxon signed-rank over users) is
  kept as a secondary, labelled line.
- A relative gain on a subset vs on everyone (Table 5, ``compare_gain``): the same interval for
  ``mean_T(a)/mean_T(b) - mean(a)/mean(b)`` by the delta method (the statistic linearised in
  the per-user values, then the same seeds-and-users variance).

``P(A > B)`` is reported beside: the share of (run of A, run of B) pairs in which A's run has
the higher mean, Bouthillier et al.'s probability of outperforming.

**A claim** made of several comparisons (``claim``) corrects them together by Holm's step-down
method (each comparison's verdict is taken at its Holm-adjusted p), then: *does not hold* if any
comparison does not hold, *holds* if all hold, *inconclusive* otherwise (with the reasons);
*not run* when nothing could be compared.
"""

from __future__ import annotations

import math

import numpy as np

HOLDS, FAILS, INCONCLUSIVE, NOT_RUN = "holds", "does not hold", "inconclusive", "not run"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NOT_RUN)
LEVEL = 0.05
#: default equivalence margin of "≈" (absolute, in the metric's units: HR@10)
MARGIN = 0.01
#: the fewest seeds per side that can support a verdict
MIN_SEEDS = 3
METHOD = ("seed-level t-interval of per-run means widened by the user sampling "
          "(Welch–Satterthwaite df)")


def _runs(x, name: str) -> np.ndarray:
    x = np.array(x, dtype=float)        # a copy: the caller's array is never touched
    if x.ndim == 1:
        x = x[None, :]                  # one run
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 2:
        raise ValueError(f"{name} must have shape (n_seeds, n_users) with 2+ users, "
                         f"got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} holds non-finite values")
    return x


def _residual_var(x: np.ndarray) -> float:
    """Two-way ANOVA residual mean square of a seeds × users table (0 with one seed)."""
    s, u = x.shape
    if s < 2:
        return 0.0
    r = x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + x.mean()
    return float((r * r).sum() / ((s - 1) * (u - 1)))


def difference(a, b) -> dict:
    """``mean(a) - mean(b)`` and its variance from seeds and users (module docstring).

    Returns ``estimate``, ``var`` (NaN when a side has one seed), ``df``, the per-run means
    ``runs_a``, ``runs_b`` and the variance ``parts`` (seeds of a, seeds of b, users)."""
    a, b = _runs(a, "a"), _runs(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must cover the same users: {a.shape[1]} vs {b.shape[1]} "
                         "columns")
    (sa, u), sb = a.shape, b.shape[0]
    ma, mb = a.mean(1), b.mean(1)
    est = float(ma.mean() - mb.mean())
    d_u = a.mean(0) - b.mean(0)
    het = max(0.0, float(d_u.var(ddof=1)) - _residual_var(a) / sa - _residual_var(b) / sb)
    va = float(ma.var(ddof=1)) / sa if sa > 1 else math.nan
    vb = float(mb.var(ddof=1)) / sb if sb > 1 else math.nan
    parts = [(va, sa - 1), (vb, sb - 1), (het / u, u - 1)]
    var = sum(c for c, _ in parts)
    den = sum(c * c / d for c, d in parts if d > 0 and c > 0)
    df = var * var / den if den > 0 else math.inf
    return {"estimate": est, "var": var, "df": df, "runs_a": ma, "runs_b": mb,
            "parts": {"seeds_a": va, "seeds_b": vb, "users": het / u}}


def _t():
    from scipy.stats import t

    return t


def p_beats(runs_a, runs_b) -> float:
    """P(A > B): share of (run of A, run of B) pairs where A's run is better (ties half)."""
    x, y = np.asarray(runs_a)[:, None], np.asarray(runs_b)[None, :]
    return float(((x > y) + 0.5 * (x == y)).mean())


def user_level(a, b) -> dict:
    """The secondary line: Wilcoxon signed-rank over users of the seed-averaged difference —
    a test of these trained models, not of the methods."""
    d = _runs(a, "a").mean(0) - _runs(b, "b").mean(0)
    nz = d[d != 0]
    p = 1.0
    if len(nz) >= 6:
        from scipy.stats import wilcoxon

        p = float(wilcoxon(nz).pvalue)
    return {"test": "Wilcoxon signed-rank over users (these trained models, not the methods)",
            "mean_diff": float(d.mean()), "p": p, "n_users": int(len(d))}


def _decide(est: float, se: float, df: float, relation: str, margin: float,
            level: float) -> tuple[float, str, str]:
    """(p, verdict if p is significant, reason if not) of one comparison."""
    t = _t()
    if relation == "≈":
        if se == 0:
            return (0.0, HOLDS, "") if abs(est) < margin else (0.0, FAILS, "")
        if abs(est) < margin:       # TOST: both one-sided nulls |Δ| >= margin rejected
            p = max(t.sf((est + margin) / se, df), t.cdf((est - margin) / se, df))
            return float(p), HOLDS, f"90% CI not inside ±{margin:g}"
        p = 2 * t.sf((abs(est) - margin) / se, df)     # beyond the margin
        return float(min(p, 1.0)), FAILS, f"95% CI overlaps ±{margin:g}"
    if se == 0:
        return (1.0, INCONCLUSIVE, "no difference in any run") if est == 0 else \
            (0.0, HOLDS if est > 0 else FAILS, "")
    p = float(2 * t.sf(abs(est) / se, df))
    return p, HOLDS if est > 0 else FAILS, "CI spans 0"


def _finish(out: dict, diff: dict, relation: str, margin: float, level: float,
            n_a: int, n_b: int, unit: str = "seed") -> dict:
    """Interval, p-value and verdict of a comparison from ``difference``'s output."""
    n = min(n_a, n_b)
    out.update({"relation": relation, "n_seeds": n, "n_seeds_a": n_a, "n_seeds_b": n_b,
                "level": level, "method": METHOD, "ci": [None, None], "p": None,
                "p_a_beats_b": p_beats(diff["runs_a"], diff["runs_b"]),
                "runs_a": [float(x) for x in diff["runs_a"]],
                "runs_b": [float(x) for x in diff["runs_b"]]})
    if relation == "≈":
        out["margin"] = margin
    if math.isfinite(diff["var"]):
        se, df = math.sqrt(diff["var"]), diff["df"]
        q = float(_t().ppf(1 - level / 2, df)) if se > 0 else 0.0
        out.update(se=se, df=df, ci=[out["mean_diff"] - q * se, out["mean_diff"] + q * se])
        if relation == "≈":
            q90 = float(_t().ppf(1 - level, df)) if se > 0 else 0.0
            out["ci_tost"] = [out["mean_diff"] - q90 * se, out["mean_diff"] + q90 * se]
        p, if_sig, why = _decide(out["mean_diff"], se, df, relation, margin, level)
        out.update(p=p, if_significant=if_sig, reason_if_not=why)
    if n < MIN_SEEDS:
        out.update(verdict=INCONCLUSIVE, reason=f"{n} {unit}" + ("s" if n != 1 else ""),
                   forced=True)
    else:
        decide(out, out["p"])
    return out


def decide(comp: dict, p: float | None) -> dict:
    """Set ``comp``'s verdict from ``p`` (its own, or Holm-adjusted): a comparison forced to be
    inconclusive (too few seeds) stays so."""
    if comp.get("forced") or p is None:
        return comp
    if p < comp["level"] and comp["if_significant"] != INCONCLUSIVE:
        comp.update(verdict=comp["if_significant"], reason="")
    else:
        comp.update(verdict=INCONCLUSIVE, reason=comp["reason_if_not"] or "CI spans 0")
    return comp


def compare(a, b, relation: str = ">", margin: float | None = None,
            level: float = LEVEL) -> dict:
    """Compare method A with method B on the same users.

    Parameters
    ----------
    a, b : array-like, shape (n_seeds, n_users)
        Per-user values (e.g. HR@10) of each run; row i = seed i, the same users in the same
        columns on both sides (the numbers of seeds may differ). A 1-D array is one run.
    relation : ``">"`` (A beats B) or ``"≈"`` (A equals B within ``±margin``).
    margin : float, optional
        Equivalence margin of ``"≈"`` in the metric's units (default ``MARGIN`` = 0.01).
    level : float
        Two-sided level of the test and of the (1 - level) interval.

    Returns
    -------
    dict
        ``verdict`` (holds / does not hold / inconclusive), ``reason`` (why inconclusive),
        ``mean_a``, ``mean_b``, ``mean_diff``, ``ci`` (two floats; None with one seed on a
        side), ``p``, ``n_seeds`` (the smaller side), ``n_seeds_a``, ``n_seeds_b``, ``n_users``,
        ``p_a_beats_b``, ``margin`` (for ≈), ``user_level`` (the secondary user-level test),
        and the details (``se``, ``df``, ``runs_a``, ``runs_b``, ``method``).
    """
    if relation not in (">", "≈"):
        raise ValueError(f"relation must be '>' or '≈', got {relation!r}")
    margin = MARGIN if margin is None else float(margin)
    if relation == "≈" and not margin > 0:
        raise ValueError(f"margin must be positive, got {margin}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    diff = difference(a, b)
    a, b = _runs(a, "a"), _runs(b, "b")
    out = {"mean_a": float(a.mean()), "mean_b": float(b.mean()), "mean_diff": diff["estimate"],
           "n_users": int(a.shape[1]), "user_level": user_level(a, b)}
    return _finish(out, diff, relation, margin, level, a.shape[0], b.shape[0])


def compare_summaries(a: tuple, b: tuple, relation: str = ">", margin: float | None = None,
                      level: float = LEVEL) -> dict:
    """``compare`` when only each method's (mean, standard deviation, number of seeds) over
    its runs is known (a report whose per-user values were not kept): the seed-level Welch
    interval of the difference. It leaves out the users' share of the variance (the method ×
    user interaction), so it is somewhat narrower than ``compare``'s; ``method`` says so."""
    (ma, sa, na), (mb, sb, nb) = a, b
    margin = MARGIN if margin is None else float(margin)
    va = sa * sa / na if na > 1 else math.nan
    vb = sb * sb / nb if nb > 1 else math.nan
    var = va + vb
    den = sum(v * v / (n - 1) for v, n in ((va, na), (vb, nb)) if n > 1 and v > 0)
    diff = {"estimate": ma - mb, "var": var, "df": var * var / den if den > 0 else math.inf,
            "runs_a": np.full(1, ma), "runs_b": np.full(1, mb)}
    out = _finish({"mean_a": ma, "mean_b": mb, "mean_diff": ma - mb}, diff, relation, margin,
                  level, na, nb)
    out.update(method="seed-level Welch interval from the seed means and standard deviations "
                      "(per-user values not kept: the users' share of the variance is left out)",
               p_a_beats_b=None, runs_a=None, runs_b=None)
    return out


def compare_gain(a, b, subset, level: float = LEVEL) -> dict:
    """Claim: A's relative gain over B is larger on ``subset`` (a boolean mask over the users)
    than on all users, i.e. ``mean_T(a)/mean_T(b) - mean(a)/mean(b) > 0``; the interval by the
    delta method with the seeds-and-users variance of ``compare``."""
    a, b = _runs(a, "a"), _runs(b, "b")
    tail = np.asarray(subset, bool)
    if tail.shape != (a.shape[1],) or not tail.any():
        raise ValueError("subset must be a non-empty boolean mask over the users")
    u, nt = a.shape[1], int(tail.sum())
    at, aa, bt, ba = a[:, tail].mean(), a.mean(), b[:, tail].mean(), b.mean()
    out = {"mean_a": float(aa), "mean_b": float(ba), "n_users": u, "n_subset": nt,
           "statistic": "relative gain on the subset minus relative gain on all users"}
    if bt <= 0 or ba <= 0:
        return {**out, "verdict": NOT_RUN, "reason": "B scores 0 on a subset"}
    est = float(at / bt - aa / ba)
    # linearisation: θ ≈ mean over users of w_a·a - w_b·b (weights fixed at the estimates)
    w_a = u * tail / (nt * bt) - 1 / ba
    w_b = u * tail * at / (nt * bt ** 2) - aa / ba ** 2
    diff = difference(a * w_a, b * w_b)
    out.update(mean_diff=est, gain_subset=float(at / bt - 1), gain_all=float(aa / ba - 1))
    return _finish(out, diff, ">", MARGIN, level, a.shape[0], b.shape[0])


def one_sample(values, level: float = LEVEL, unit: str = "graph") -> dict:
    """Claim: the mean of independent replicates' ``values`` (one per ``unit``, e.g. a
    per-graph statistic of the Fig. 2 simulation) is > 0; a t-interval over the replicates,
    *inconclusive* with fewer than ``MIN_SEEDS`` of them."""
    x = np.array(values, dtype=float).ravel()
    if not len(x) or not np.isfinite(x).all():
        raise ValueError("values must be a non-empty array of finite numbers")
    n = len(x)
    var = float(x.var(ddof=1)) / n if n > 1 else math.nan
    diff = {"estimate": float(x.mean()), "var": var, "df": n - 1, "runs_a": x,
            "runs_b": np.zeros(1)}
    out = {"mean_diff": float(x.mean()), "n_units": n, "unit": unit}
    out = _finish(out, diff, ">", MARGIN, level, n, n, unit)
    out.pop("runs_b")
    out["p_a_beats_b"] = float((x > 0).mean() + 0.5 * (x == 0).mean())
    return out


def holm(pvalues: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and does not count)."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda i: pvalues[i])
    m, out, run = len(idx), list(pvalues), 0.0
    for k, i in enumerate(order):
        run = max(run, min(1.0, (m - k) * pvalues[i]))
        out[i] = run
    return out


def combine(verdicts: list[str]) -> str:
    vs = [v for v in verdicts if v != NOT_RUN]
    if not vs:
        return NOT_RUN
    if FAILS in vs:
        return FAILS
    if all(v == HOLDS for v in vs):
        return HOLDS
    return INCONCLUSIVE


def claim(name: str, text: str, comparisons: list[dict], note: str = "") -> dict:
    """A claim record: its text, its comparisons (Holm-corrected together when there are
    several) and the verdict with its ``reason`` when inconclusive."""
    ps = holm([c.get("p") if not c.get("forced") else None for c in comparisons])
    tested = sum(p is not None for p in ps)
    for c, p in zip(comparisons, ps):
        if p is not None and tested > 1:
            c["p_holm"] = p
            decide(c, p)
    verdict = combine([c["verdict"] for c in comparisons])
    reasons = sorted({c.get("reason") for c in comparisons
                      if c["verdict"] in (INCONCLUSIVE, NOT_RUN) and c.get("reason")})
    return {"claim": name, "text": text, "verdict": verdict,
            "reason": "; ".join(reasons) if verdict in (INCONCLUSIVE, NOT_RUN) else "",
            "correction": f"Holm over {tested} comparisons" if tested > 1 else "",
            "comparisons": comparisons, "note": note}


def verdict_text(record: dict) -> str:
    """``holds`` / ``does not hold`` / ``inconclusive (1 seed)``: the verdict with its reason."""
    v = record.get("verdict", NOT_RUN)
    return f"{v} ({record['reason']})" if record.get("reason") and v != HOLDS and v != FAILS \
        else v

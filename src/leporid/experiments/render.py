"""Shared rendering of an artefact: metric rows (mean ± std over seeds, best in bold, the
paper's value and the difference beside ours on the paper's datasets), relative-improvement
rows, claims, and the three files ``<artefact>.{json,csv,md}``.
"""

from __future__ import annotations

import math

import numpy as np

from ..results import atomic_write, markdown_table, provenance, write_json
from .cells import errors, mean_std
from .paper import METRICS


def fmt(x, digits: int = 4) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:+.2f}%"


def metric_row(labels: dict, results: list[dict], paper: dict | None, subset: str = "all",
               metrics=METRICS) -> dict:
    """Numeric row: labels, ``m`` (mean), ``m std``, and with ``paper`` ``m paper``, ``m diff``."""
    row = dict(labels)
    for m in metrics:
        mu, sd = mean_std(results, m, subset)
        row[m], row[f"{m} std"] = mu, sd
        if paper is not None:
            p = paper.get(m)
            row[f"{m} paper"] = p
            row[f"{m} diff"] = None if p is None or math.isnan(mu) else mu - p
    row["seeds"] = len([r for r in results if "error" not in r])
    errs = errors(results)
    if errs:
        row["error"] = errs[0]
    return row


def relative_row(labels: dict, ours: dict, base: dict, paper: dict | None,
                 metrics=METRICS) -> dict:
    """``(ours - base) / base`` per metric (the paper's "Relative Imp."), numeric rows in."""
    row = dict(labels, relative=True)
    for m in metrics:
        a, b = ours.get(m), base.get(m)
        row[m] = (a - b) / b if a is not None and b and not math.isnan(a) else float("nan")
        if paper is not None:
            row[f"{m} paper"] = paper.get(m)
            p = paper.get(m)
            row[f"{m} diff"] = None if p is None or math.isnan(row[m]) else row[m] - p
    return row


def best_of(rows: list[dict], metric: str) -> float:
    vals = [r[metric] for r in rows if not r.get("relative") and isinstance(r.get(metric), float)
            and not math.isnan(r[metric])]
    return max(vals) if vals else float("nan")


def md_rows(rows: list[dict], label_cols: list[str], groups: list[list[int]] | None = None,
            metrics=METRICS, side_by_side: bool = False) -> tuple[list[dict], list[str]]:
    """Markdown-ready rows: ``mean ± std``, the best of each group in bold (relative rows as
    percentages); with ``side_by_side`` a ``paper`` and ``Δ`` column after each metric."""
    groups = groups or [list(range(len(rows)))]
    best = {}
    for g in groups:
        sub = [rows[i] for i in g]
        for m in metrics:
            b = best_of(sub, m)
            for i in g:
                best[(i, m)] = b
    cols = list(label_cols)
    for m in metrics:
        cols.append(m)
        if side_by_side:
            cols += [f"{m} paper", f"Δ {m}"]
    out = []
    for i, r in enumerate(rows):
        d = {c: r.get(c, "") for c in label_cols}
        for m in metrics:
            v = r.get(m)
            if r.get("relative"):
                s = pct(v)
            else:
                s = fmt(v)
                sd = r.get(f"{m} std")
                # every mean over 2+ seeds shows its std, 0 included (TopPop is deterministic)
                if sd is not None and not math.isnan(sd) and (r.get("seeds", 0) > 1 or sd):
                    s += f" ± {fmt(r[f'{m} std'])}"
                if v is not None and not math.isnan(v) and v == best.get((i, m)):
                    s = f"**{s}**"
            d[m] = s
            if side_by_side:
                p = r.get(f"{m} paper")
                diff = r.get(f"{m} diff")
                d[f"{m} paper"] = pct(p) if r.get("relative") else fmt(p)
                d[f"Δ {m}"] = ("–" if diff is None or math.isnan(diff) else
                               (f"{100 * diff:+.2f} pt" if r.get("relative") else f"{diff:+.4f}"))
        out.append(d)
    return out, cols


def claims_markdown(claims: list[dict]) -> str:
    """The claims of an artefact as a Markdown list: each claim with its verdict (bold, the
    reason beside) and one line per comparison."""
    if not claims:
        return ""
    lines = ["", "**Claims** (see `leporid.experiments.stats` and docs/statistics.md):", ""]
    for c in claims:
        extra = [x for x in (c.get("reason"), c.get("correction"), c.get("note")) if x]
        lines.append(f"- **{c['verdict']}** — *{c['text']}*"
                     + (f" ({'; '.join(extra)})" if extra else ""))
        for comp in c["comparisons"]:
            lines.append(f"  - {describe(comp)}")
            if comp.get("forced") and comp.get("user_level"):
                ul = comp["user_level"]
                lines.append(f"    - secondary, not a verdict: user-level test of these trained "
                             f"models (Wilcoxon over {ul['n_users']} users) p = {ul['p']:.3g}")
    return "\n".join(lines) + "\n"


def _num(x, spec: str = "+.4f") -> str:
    return "–" if not finite(x) else format(float(x), spec)


def describe(comp: dict) -> str:
    """One line for a comparison: the means, Δ with its interval, p (Holm-adjusted where the
    claim corrected it), P(A > B), the seeds and users, and the verdict."""
    what = comp.get("what", "")
    verdict = comp["verdict"] + (f" ({comp['reason']})" if comp.get("reason") else "")
    if "mean_diff" not in comp:
        return f"{what}: {verdict}"
    rel = comp.get("relation", ">")
    head = f"{what}"
    if comp.get("metric"):
        head += f" [{rel}, {comp['metric']}]"
    if rel == "≈":
        head += f", margin ±{comp.get('margin', 0):g}"
    parts = []
    if "gain_subset" in comp:
        parts.append(f"gain on the subset {100 * comp['gain_subset']:+.2f}%, on all users "
                     f"{100 * comp['gain_all']:+.2f}%")
    elif finite(comp.get("mean_a")) and finite(comp.get("mean_b")):
        parts.append(f"{comp['mean_a']:.4f} vs {comp['mean_b']:.4f}")
    lo, hi = comp.get("ci") or (None, None)
    d = f"Δ {_num(comp['mean_diff'])}"
    if lo is not None:
        d += f" (95% CI {_num(lo)} … {_num(hi)})"
        if rel == "≈" and comp.get("ci_tost"):
            d += f", 90% CI {_num(comp['ci_tost'][0])} … {_num(comp['ci_tost'][1])}"
    parts.append(d)
    if comp.get("p") is not None:
        p = f"p = {comp['p']:.3g}"
        if comp.get("p_holm") is not None:
            p += f", Holm p = {comp['p_holm']:.3g}"
        parts.append(p)
    if comp.get("p_a_beats_b") is not None and "unit" not in comp:
        parts.append(f"P(A > B) = {comp['p_a_beats_b']:.2f}")
    unit = comp.get("unit", "seed")
    if "n_units" in comp:
        parts.append(f"{comp['n_units']} {unit}s")
    elif "n_seeds_a" in comp:
        parts.append(f"seeds {comp['n_seeds_a']} vs {comp['n_seeds_b']}, "
                     f"{comp.get('n_users')} users")
    return f"{head}: {'; '.join(parts)} → {verdict}"


def notes_markdown(notes: list) -> list[str]:
    """Notes as Markdown list lines; a structured note (a dict) becomes a nested list."""
    lines = []
    for n in notes:
        if isinstance(n, dict):
            for k, v in n.items():
                lines.append(f"- {k}:")
                lines += [f"  - {kk.replace('_', ' ')}: {_plain(vv)}" for kk, vv in
                          (v.items() if isinstance(v, dict) else [("value", v)])]
        else:
            lines.append(f"- {n}")
    return lines


def _plain(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k.replace('_', ' ')} {_plain(x)}" for k, x in v.items())
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def write_artefact(ctx, name: str, title: str, rows: list[dict], md: tuple[list[dict], list[str]],
                   claims: list[dict] | None = None, notes: list[str] | None = None,
                   extra: dict | None = None, csv_columns: list[str] | None = None,
                   figure=None, caption: str = "") -> dict:
    """Write ``<out>/<name>.json`` (provenance, rows, claims, notes, extra), ``.csv`` (numeric
    rows) and ``.md`` (title, table, notes, claims), and with ``figure(rows, path)`` the
    ``.png`` (left out when matplotlib is not installed) described by ``caption``; return the
    paths."""
    import pandas as pd

    claims = claims or []
    notes = notes or []
    config = {"artefact": name, "dataset": ctx.dataset, "protocol": ctx.protocol,
              "budget": ctx.budget.to_dict(), "device": ctx.device}
    config.update({k: list(v) for k in ("models", "inits") if (v := getattr(ctx, k, None))})
    meta = provenance(config, list(ctx.seeds), ctx.fingerprint)
    meta["cell_seconds"] = ctx.seconds.get(name)     # compute time of its cells (cached too)
    meta["cell_hosts"] = ctx.hosts.get(name)         # where they were computed (cached too)
    doc = {"artefact": name, "title": title, **meta, "rows": rows, "claims": claims,
           "notes": notes, "figure_caption": caption, **(extra or {})}
    stem = ctx.out / name
    paths = {"json": write_json(stem.with_suffix(".json"), doc)}
    cols = csv_columns or sorted({k for r in rows for k in r}, key=_col_order(rows))
    paths["csv"] = atomic_write(stem.with_suffix(".csv"),
                                pd.DataFrame(rows, columns=cols).to_csv(index=False))
    body = [f"## {title}", "",
            f"<!-- leporid {meta['leporid_version']}; dataset {ctx.dataset}; protocol "
            f"{ctx.protocol}; budget {ctx.budget.name}; seeds {list(ctx.seeds)}; data "
            f"{ctx.fingerprint} -->", "", markdown_table(*md).rstrip("\n")]
    if notes:
        body += [""] + notes_markdown(notes)
    text = "\n".join(body) + "\n" + claims_markdown(claims)
    paths["md"] = atomic_write(stem.with_suffix(".md"), text)
    if figure is not None:
        try:
            figure(rows, stem.with_suffix(".png"))
            paths["png"] = stem.with_suffix(".png")
        except ImportError:         # matplotlib is optional (the `reproduce` extra)
            pass
    return paths


def _col_order(rows):
    order = {}
    for r in rows:
        for k in r:
            order.setdefault(k, len(order))
    return lambda k: order[k]


def finite(x) -> bool:
    return isinstance(x, (int, float, np.floating)) and not math.isnan(float(x))

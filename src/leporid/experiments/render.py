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
    if not claims:
        return ""
    lines = ["", "**Claims** (paired tests over users; see `leporid.experiments.stats`):", ""]
    for c in claims:
        lines.append(f"- *{c['text']}* — **{c['verdict']}**" + (f" ({c['note']})" if c.get("note")
                                                               else ""))
        for comp in c["comparisons"]:
            lines.append(f"  - {describe(comp)}")
    return "\n".join(lines) + "\n"


def describe(comp: dict) -> str:
    """One line for a comparison."""
    what = comp.get("what", "")
    if comp.get("test") == "bootstrap":
        lo, hi = comp["ci"]
        return (f"{what}: {comp['estimate']:+.4f} (95% bootstrap CI {lo:+.4f} … {hi:+.4f}, "
                f"{comp['n']} users) → {comp['verdict']}")
    if comp.get("test") == "wilcoxon":
        rel = comp.get("relation", ">")
        return (f"{what} [{rel}, {comp.get('metric', '')}]: {comp['mean_a']:.4f} vs "
                f"{comp['mean_b']:.4f} (Δ {comp['mean_diff']:+.4f}, p = {comp['p']:.3g}, "
                f"{comp['n']} {comp.get('unit', 'users')}) → {comp['verdict']}")
    return f"{what}: {comp['verdict']}" + (f" ({comp['reason']})" if comp.get("reason") else "")


def write_artefact(ctx, name: str, title: str, rows: list[dict], md: tuple[list[dict], list[str]],
                   claims: list[dict] | None = None, notes: list[str] | None = None,
                   extra: dict | None = None, csv_columns: list[str] | None = None,
                   figure=None) -> dict:
    """Write ``<out>/<name>.json`` (provenance, rows, claims, notes, extra), ``.csv`` (numeric
    rows) and ``.md`` (title, table, notes, claims), and with ``figure(rows, path)`` the
    ``.png`` (left out when matplotlib is not installed); return the paths."""
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
           "notes": notes, **(extra or {})}
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
        body += [""] + [f"- {n}" for n in notes]
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

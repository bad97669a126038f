"""One look for every figure of the report (matplotlib, imported on first use).

Readable in greyscale: the two series that matter (ours, the paper's) differ in lightness
(dark vs light grey-blue) *and* in hatching or marker, never in hue alone; diverging heat maps
use a colour map whose lightness falls monotonically towards both ends (``RdBu`` reversed is not
monotone in grey, ``PuOr`` is close to it; we annotate every cell with its number anyway).
Error bars are seed confidence intervals (t-interval of the per-run means), labelled as such.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

from .render import finite

#: ours (dark), the paper's (light, hatched), a third series (mid grey, dotted)
OURS, PAPER, OTHER = "#1f3b73", "#a6bddb", "#7f7f7f"
HATCH_PAPER = "///"
MARKERS = ("o", "s", "^", "D", "v")
WIDTH = 7.0         # inches at 110 dpi: 770 px, fits the 1,100 px column of the report


#: a legend in one row above the axes, clear of the data
LEGEND_ABOVE = {"loc": "lower center", "bbox_to_anchor": (0.5, 1.0), "ncol": 3, "fontsize": 8}
RC = {"figure.dpi": 110, "savefig.dpi": 110, "font.size": 9, "axes.titlesize": 10,
      "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
      "grid.alpha": 0.35, "grid.linestyle": ":", "legend.frameon": False}


@contextmanager
def figure(path, size=(WIDTH, 3.4), nrows: int = 1, ncols: int = 1, **kw):
    """``with figure(path) as (fig, ax): ...`` draws in the report's style and writes the PNG
    atomically on leaving the block (matplotlib's global settings are left untouched)."""
    from ..results import pyplot, save_figure

    p = pyplot()
    with p.rc_context(RC):
        fig, ax = p.subplots(nrows, ncols, figsize=size, **kw)
        try:
            yield fig, ax
            fig.tight_layout()
            save_figure(fig, path)
        finally:
            p.close(fig)


def seed_ci(mean: float, std: float, n: int, level: float = 0.05) -> float:
    """Half-width of the t-interval of a mean over ``n`` seeds (NaN below 2 seeds)."""
    if n is None or n < 2 or std is None or not math.isfinite(std):
        return math.nan
    from scipy.stats import t

    return float(t.ppf(1 - level / 2, n - 1) * std / math.sqrt(n))


def welch_ci(m1, s1, n1, m2, s2, n2, level: float = 0.05) -> float:
    """Half-width of the Welch t-interval of ``m1 - m2`` from two groups' seed means, standard
    deviations and seed counts (NaN below 2 seeds on a side)."""
    if min(n1 or 0, n2 or 0) < 2:
        return math.nan
    from scipy.stats import t

    v1, v2 = s1 * s1 / n1, s2 * s2 / n2
    if v1 + v2 == 0:
        return 0.0
    df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
    return float(t.ppf(1 - level / 2, df) * math.sqrt(v1 + v2))


def bars_vs_paper(ax, labels, ours, err, paper, metric: str) -> None:
    """Horizontal bars: ours (dark, seed CI) and the paper's (light, hatched) per row."""
    import numpy as np

    y = np.arange(len(labels))
    h = 0.38 if any(p is not None for p in paper) else 0.7
    e = [0 if not math.isfinite(x) else x for x in err]
    ours = [x if finite(x) else 0 for x in ours]
    ax.barh(y - (h / 2 if h < 0.5 else 0), ours, h, xerr=e if any(e) else None, color=OURS,
            label="ours" + (" (95% seed CI)" if any(e) else ""), capsize=2,
            error_kw={"ecolor": "black", "lw": 0.8})
    if h < 0.5:
        ax.barh(y + h / 2, [p if p is not None else 0 for p in paper], h, color=PAPER,
                hatch=HATCH_PAPER, edgecolor="#555555", lw=0.4, label="paper")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric} (test)")
    ax.legend(**LEGEND_ABOVE)


def bar_figure(rows: list[dict], path, label, metric: str = "HR@10") -> None:
    """One bar per (non-relative) row, ``label(row)`` on the axis: ours with its 95% seed CI,
    the paper's value beside where it exists."""
    rows = [r for r in rows if not r.get("relative")]
    err = [seed_ci(r.get(metric), r.get(f"{metric} std"), r.get("seeds")) for r in rows]
    with figure(path, (WIDTH, 0.9 + 0.42 * len(rows))) as (fig, ax):
        bars_vs_paper(ax, [label(r) for r in rows], [r.get(metric) for r in rows], err,
                      [r.get(f"{metric} paper") for r in rows], metric)

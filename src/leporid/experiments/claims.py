"""Building blocks for the claims: one comparison of two groups of cells (the runs of two
methods) through ``stats.compare`` — seeds and users, see ``leporid.experiments.stats``."""

from __future__ import annotations

from .cells import by_seed, per_user_runs
from .stats import NOT_RUN
from .stats import compare as compare_runs

#: the per-user metric every ranking claim is tested on (HR is per-user; the paper's F1 is a
#: ratio of averages, not a per-user quantity)
CLAIM_METRIC = "HR@10"


def compare(what: str, a: list[dict], b: list[dict], relation: str = ">",
            metric: str = CLAIM_METRIC, tail: bool = False, margin: float | None = None) -> dict:
    """Cells ``a`` (the runs of method A) against cells ``b`` on per-user ``metric``."""
    if not by_seed(a) or not by_seed(b):
        return {"what": what, "verdict": NOT_RUN, "reason": "a cell failed or was not run",
                "relation": relation}
    t = compare_runs(per_user_runs(a, metric, tail), per_user_runs(b, metric, tail),
                     relation, margin)
    return {"what": what, "metric": metric + (" (tail users)" if tail else ""), **t}

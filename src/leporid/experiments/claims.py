"""Building blocks for the claims: a paired comparison of two groups of cells."""

from __future__ import annotations

from .cells import by_seed, per_user_mean
from .stats import NOT_RUN, paired_test, similar

#: the per-user metric every ranking claim is tested on (HR is per-user; the paper's F1 is a
#: ratio of averages, not a per-user quantity)
CLAIM_METRIC = "HR@10"


def compare(what: str, a: list[dict], b: list[dict], relation: str = ">",
            metric: str = CLAIM_METRIC, tail: bool = False) -> dict:
    """Paired test of cells ``a`` against cells ``b`` on per-user ``metric`` (seed means)."""
    if not by_seed(a) or not by_seed(b):
        return {"what": what, "verdict": NOT_RUN, "reason": "a cell failed or was not run"}
    x, y = per_user_mean(a, metric, tail), per_user_mean(b, metric, tail)
    t = similar(x, y) if relation == "≈" else paired_test(x, y)
    return {"what": what, "metric": metric + (" (tail users)" if tail else ""),
            "relation": relation, **t}

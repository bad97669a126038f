"""Full-ranking top-N evaluation, metrics, tail users and CSV exports (DESIGN.md §3)."""

from .evaluator import evaluate, rank_batch, tail_users
from .export import export_split_csv, save_recommendations
from .metrics import METRICS, aggregate, per_user_metrics

__all__ = ["METRICS", "aggregate", "evaluate", "export_split_csv", "per_user_metrics",
           "rank_batch", "save_recommendations", "tail_users"]

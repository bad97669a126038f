"""``leporid report RESULTS``: one Markdown and one self-contained HTML page of the results."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("report", help="render a results folder as one Markdown + HTML page",
                       description="Collect every artefact under RESULTS (tables, figures, "
                                   "claims and verdicts, provenance) into RESULTS/report.md "
                                   "and a self-contained RESULTS/report.html.")
    p.add_argument("results", nargs="?", default="results", help="results folder (default results)")
    p.add_argument("--out", default=None, help="folder for report.md/.html (default RESULTS)")
    p.set_defaults(func=run)


def run(args) -> int:
    import warnings

    from ..experiments.report import write_report
    from .common import check_output_dir

    if args.out is not None:
        check_output_dir(args.out, "--out")        # before any work; a file there is usage
    paths = write_report(args.results, args.out)     # its warnings: notes (leporid.cli.main)
    print(f"wrote {paths['md']} and {paths['html']}")
    with warnings.catch_warnings():     # collected again: its notes were printed above, once
        warnings.simplefilter("ignore")
        _print_verdicts(args.results)
    return 0


def _print_verdicts(folder) -> None:
    """One line per claim: where, the verdict (with its reason), the claim."""
    from pathlib import Path

    from ..experiments.report import collect
    from ..experiments.stats import verdict_text

    for p, doc in collect(Path(folder)):
        for c in doc.get("claims", []):
            print(f"  {p.relative_to(folder).with_suffix('').as_posix()}: {verdict_text(c)} — "
                  f"{c['text']}")

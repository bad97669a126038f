"""`leporid demo` end to end on a tiny dataset, and its resume rule."""

import json

import numpy as np

from leporid.cli import main
from leporid.data.synthetic import power_law_interactions


def test_demo_runs_end_to_end_and_resumes(tmp_path, capsys):
    inter = power_law_interactions(60, 45, 1800, min_per_user=25, seed=5)
    f = tmp_path / "tiny.csv"
    rows = np.column_stack([inter.user_ids[inter.users], inter.item_ids[inter.items],
                            inter.timestamps.astype(np.int64)])
    f.write_text("user,item,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows))
    out = tmp_path / "demo"
    args = ["demo", "--dataset", str(f), "--min-count", "5", "--quick", "--dim", "8",
            "--neighbors", "20", "--device", "cpu", "--out", str(out)]
    assert main(args) == 0
    first = capsys.readouterr().out
    result = json.loads((out / "demo.json").read_text())
    models = [(r["model"], r["init"]) for r in result["rows"]]
    assert models == [("toppop", "-"), ("itemknn", "-"), ("userknn", "-"), ("DLR²", "leporid"),
                      ("DLR²", "le"), ("DLR²", "random")]
    for r in result["rows"]:
        assert 0.0 <= r["HR@5"] <= r["HR@10"] <= 1.0
    assert result["seed"] == 123 and result["data_fingerprint"]
    assert (out / "embeddings" / "leporid_user_embeddings.npy").exists()
    assert "stored result reused" not in first
    # one seed: every verdict of the demo is inconclusive, and it says how to get one
    assert [c["verdict"] for c in result["claims"]] == ["inconclusive"] * 3
    assert "inconclusive (1 seed)" in first and "--seeds 123,124,125" in first
    assert f"report: {out / 'report.html'}" in first and (out / "report.md").exists()
    # it ends with what the numbers show and what to run for evidence, also in the report
    closing = first[first.rindex("What this shows: DLR² from"):]
    assert "`leporid reproduce table4 --dataset" in " ".join(closing.split())
    assert closing.rstrip().endswith("docs/reproduce.md.")
    assert "What this shows:" in (out / "report.md").read_text()
    # a second run reuses every stored row and prints the same table
    assert main(args) == 0
    second = capsys.readouterr().out
    assert second.count("stored result reused") == 6
    assert json.loads((out / "demo.json").read_text())["rows"] == result["rows"]


def test_demo_verdicts_follow_the_seeds():
    """The demo's three claims under the seeds-and-users statistics: with 3 seeds a planted
    lead of DLR² + LEPORID holds against each row, and the best classic model is the one
    compared; with one seed every claim is inconclusive."""
    from leporid.cli.demo_cmd import _verdicts

    rng = np.random.default_rng(0)
    p = rng.beta(2, 3, 3000)

    def runs(delta, n):
        return [(rng.random(3000) < np.clip(p + delta + rng.normal(0, 0.01), 0, 1)).astype(float)
                for _ in range(n)]
    for n, want in ((3, "holds"), (1, "inconclusive")):
        per_user = {"dlr2-leporid": runs(0.15, n), "dlr2-le": runs(0.0, n),
                    "dlr2-random": runs(-0.1, n), "toppop": runs(-0.2, n),
                    "itemknn": runs(0.02, n), "userknn": runs(0.0, n)}
        rows = {k: [{"HR@10": float(np.mean(r))} for r in v] for k, v in per_user.items()}
        claims = _verdicts(per_user, rows)
        assert [c["verdict"] for c in claims] == [want] * 3
        assert "itemknn" in claims[2]["text"]
        if n == 1:
            assert {c["reason"] for c in claims} == {"1 seed"}

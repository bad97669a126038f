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
    assert f"report: {out / 'report.html'}" in first and (out / "report.md").exists()
    # it ends with what the numbers show and what to run for evidence, also in the report
    closing = first[first.rindex("What this shows: DLR² from"):]
    assert "For evidence, run `leporid reproduce table4 --dataset" in " ".join(closing.split())
    assert closing.rstrip().endswith("docs/reproduce.md.")
    assert "What this shows:" in (out / "report.md").read_text()
    # a second run reuses every stored row and prints the same table
    assert main(args) == 0
    second = capsys.readouterr().out
    assert second.count("stored result reused") == 6
    assert json.loads((out / "demo.json").read_text())["rows"] == result["rows"]

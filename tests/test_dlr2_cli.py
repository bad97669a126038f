"""`leporid train --model dlr2` and `leporid recommend` end to end on a tiny dataset."""

import csv
import json

import pytest
from test_dlr2_training import cycle_split

from leporid.cli import main
from leporid.data.split_io import save_split


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    split = cycle_split(n_users=30, n_items=50)
    data = save_split(split, tmp / "split")
    out = tmp / "out"
    args = ["train", "--model", "dlr2", "--dataset", str(data), "--init", "random",
            "--iterations", "8", "--eval-every", "4", "--dim", "8", "--seq-len", "3",
            "--batch-size", "32", "--margin-s", "0.5", "--threads", "1", "--out", str(out),
            "--save-recommendations", str(tmp / "recs.csv"), "--save-split", str(tmp / "s.csv")]
    return tmp, split, data, out, args


def test_train_writes_results_checkpoint_and_exports(trained, capsys):
    tmp, split, data, out, args = trained
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "validation" in text and "step      4" in text and "wrote model" in text
    meta = json.loads((out / "train_split_dlr2_random.json").read_text())
    assert meta["data_fingerprint"] == split.fingerprint() and meta["seed"] == 123
    assert meta["config"]["params"]["iterations"] == 8
    assert [r["part"] for r in meta["rows"]] == ["validation", "validation", "test", "test"]
    assert [e["step"] for e in meta["history"]] == [4, 8]
    assert (out / "train_split_dlr2_random.pt").exists()
    with open(tmp / "recs.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 10 * split.n_users and rows[0]["rank"] == "1"
    assert (tmp / "s.csv").exists()
    # a second run finds the finished training checkpoint and reuses it
    assert main(args) == 0
    assert "resuming from" in capsys.readouterr().out


def test_recommend_prints_raw_ids(trained, capsys):
    tmp, split, data, out, args = trained
    ck = out / "train_split_dlr2_random.pt"
    if not ck.exists():
        assert main(args) == 0
    capsys.readouterr()
    raw = [str(split.user_ids[0]), str(split.user_ids[3])]
    assert main(["recommend", "--checkpoint", str(ck), "--users", *raw, "-n", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "user,rank,item" and len(lines) == 11
    u0 = [line.split(",") for line in lines[1:6]]
    assert [r[1] for r in u0] == ["1", "2", "3", "4", "5"] and {r[0] for r in u0} == {raw[0]}
    seen = set(split.item_ids[split.matrix("train", "validation")[0].indices].astype(str))
    assert not seen & {r[2] for r in u0}
    # with the dataset: the whole history (test included) is excluded
    assert main(["recommend", "--checkpoint", str(ck), "--users", raw[0], "-n", "5",
                 "--dataset", str(data)]) == 0
    items = {line.split(",")[2] for line in capsys.readouterr().out.strip().splitlines()[1:]}
    all_seen = set(split.item_ids[split.matrix("train", "validation", "test")[0].indices]
                   .astype(str))
    assert len(items) == 5 and not items & all_seen
    assert main(["recommend", "--checkpoint", str(ck), "--users", "no-such-user"]) == 1

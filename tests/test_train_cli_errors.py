"""`leporid train` / `leporid recommend`: bad options and hostile checkpoints are one-line
errors with exit status 2, found before any data is read or any training starts."""

import pytest
import torch

from leporid.cli import main

# the dataset does not exist: an option error must be reported before it is looked for
BASE = ["train", "--dataset", "/nonexistent/never-read.inter"]


@pytest.mark.parametrize("extra, needle", [
    (["--iterations", "0"], "iterations"),
    (["--iterations", "-4"], "iterations"),
    (["--epochs", "0"], "epochs"),
    (["--margin-s", "nan"], "margin_s"),
    (["--eval-every", "-1"], "eval_every"),
    (["--init", "pca"], "--init"),
    (["--device", "banana"], "device"),
    (["--threads", "-1"], "threads"),
    (["--metric", "HR@7"], "--metric"),
    (["--metric", "XX@10"], "--metric"),
    (["--lr", "-1"], "lr"),
    (["--model", "itemknn"], "--model"),
    (["--model", "bpr", "--arch", "revnet"], "--arch"),
    (["--param", "no_such=1"], "no_such"),
    (["--param", "novalue"], "--param"),
    (["--model", "bpr", "--param", "reg=-5"], "reg"),
    (["--tune", "--trials", "0"], "--trials"),
])
def test_bad_train_options_exit_2_before_reading_data(extra, needle, capsys):
    assert main(BASE + extra) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
    assert "never-read" not in err and "Traceback" not in err


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04junk"])
def test_damaged_checkpoints_are_clean_errors(content, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    assert main(["recommend", "--checkpoint", str(bad), "--users", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.pt" in err
    assert "weights_only" not in err


def test_hostile_and_inconsistent_checkpoints(tmp_path, capsys):
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    torch.save({"format": "leporid-neural/1", "x": Evil()}, tmp_path / "evil.pt")
    assert main(["recommend", "--checkpoint", str(tmp_path / "evil.pt"), "--users", "1"]) == 2
    assert not (tmp_path / "pwned").exists()
    err = capsys.readouterr().err
    assert "weights_only" not in err and len(err.strip().splitlines()) == 1


def test_recommend_n_must_be_positive(tmp_path, capsys):
    assert main(["recommend", "--checkpoint", str(tmp_path / "x.pt"), "--users", "1",
                 "-n", "0"]) == 2
    assert "-n" in capsys.readouterr().err


def test_checkpoint_ids_must_agree_with_tensors(tmp_path):
    import json

    from leporid.data import prepare
    from leporid.data.synthetic import power_law_interactions
    from leporid.models import load_model, make_model

    split = prepare(power_law_interactions(30, 20, 500, min_per_user=8, seed=1), min_count=2)
    ck = make_model("bpr", dim=4, epochs=1).fit(split).checkpoint_dict()
    short_ids = dict(ck, arrays=dict(ck["arrays"]), attributes=ck["attributes"])
    if "user_ids_" in ck["arrays"]:
        short_ids["arrays"]["user_ids_"] = ck["arrays"]["user_ids_"][:-1]
    else:
        attrs = json.loads(ck["attributes"])
        attrs["user_ids_"]["strings"] = attrs["user_ids_"]["strings"][:-1]
        short_ids["attributes"] = json.dumps(attrs)
    torch.save(short_ids, tmp_path / "ids.pt")
    with pytest.raises(ValueError, match="disagree"):
        load_model(tmp_path / "ids.pt")
    attrs = json.loads(ck["attributes"])
    attrs["n_users_"] += 1
    bigger = dict(ck, attributes=json.dumps(attrs))
    torch.save(bigger, tmp_path / "size.pt")
    with pytest.raises(ValueError, match="disagree"):
        load_model(tmp_path / "size.pt")

"""The commands alike: shared options, early path checks, result names, and errors that name
the sub-command."""

import pytest

from leporid.cli import build_parser, main
from leporid.cli.common import result_stem, seed_part

NEVER_READ = "/nonexistent/never-read.inter"


@pytest.mark.parametrize("argv, prog", [
    (["train", "--bogus", "1"], "leporid train"),
    (["evaluate", "--bogus"], "leporid evaluate"),
    (["recommend", "--checkpoint", "x.pt", "--users", "1", "--bogus"], "leporid recommend"),
    (["data", "stats", "--bogus"], "leporid data stats"),
    (["embed", "--bogus"], "leporid embed"),
])
def test_an_unknown_option_is_reported_by_its_sub_command(argv, prog, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{prog}: error: unrecognized arguments: --bogus"), err
    assert len(err.splitlines()) == 1


# bad output paths: ``afile`` is an existing file, ``r`` a folder not yet made
BAD_OUTPUTS = [["--out", "{tmp}/afile"],
               ["--out", "{tmp}/r", "--save-split", "{tmp}"],
               ["--out", "{tmp}/r", "--save-recommendations", "{tmp}/afile/recs.csv"]]


@pytest.mark.parametrize("command, model", [("train", "bpr"), ("evaluate", "toppop")])
@pytest.mark.parametrize("outputs", BAD_OUTPUTS)
def test_output_paths_are_checked_before_the_data_is_read(command, model, outputs, tmp_path,
                                                          capsys):
    (tmp_path / "afile").write_text("keep")
    extra = [x.replace("{tmp}", str(tmp_path)) for x in outputs]
    assert main([command, "--dataset", NEVER_READ, "--model", model, *extra]) == 2
    err = capsys.readouterr().err
    assert f"leporid {command}: error: --" in err and "never-read" not in err, err
    assert (tmp_path / "afile").read_text() == "keep" and not (tmp_path / "r").exists()


def test_commands_share_the_common_options():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    options = {name: {o for a in p._actions for o in a.option_strings}
               for name, p in sub.choices.items()}
    for name in ("train", "evaluate", "demo", "reproduce"):  # the commands that show progress
        assert "--no-progress" in options[name], name
    for name in ("train", "evaluate", "embed", "demo"):
        assert "--seed" in options[name], name
        seed = next(a for a in sub.choices[name]._actions if "--seed" in a.option_strings)
        assert seed.default == 123, name
    for name in ("train", "evaluate", "embed", "data", "recommend"):
        p = sub.choices[name]
        if name == "data":
            p = next(a for a in p._actions if a.dest == "action").choices["stats"]
        fmt = next(a for a in p._actions if "--format" in a.option_strings)
        assert fmt.type is not None and fmt.type.__name__ == "format_option", name


def test_train_writes_the_result_names_of_result_stem(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--model", "bpr", "--iterations", "2", "--dim", "4", "--no-progress",
                 "--out", str(out)]) == 0
    stem = result_stem(out, "train", "ml-latest-small", "bpr", "random", seed_part(123))
    assert stem.name == "train_ml-latest-small_bpr_random"  # the name of earlier runs
    assert stem.with_suffix(".json").is_file() and stem.with_suffix(".pt").is_file()
    assert "| part " in capsys.readouterr().out


def test_bad_param_is_a_usage_error_naming_the_option(capsys):
    for option in ("--param", "--init-param"):
        assert main(["train", "--dataset", NEVER_READ, option, "novalue"]) == 2
        err = capsys.readouterr().err
        assert f"argument {option}: expects KEY=VALUE, got 'novalue'" in err

"""`brainnet report`: a built-in's test split beside its published levels, and user mistakes exit 2."""

import pytest

from brainnet.cli.main import main


def test_report_on_a_builtin_writes_one_page_and_refuses_to_overwrite(
    yeast_model, tmp_path, capsys
):
    path, _ = yeast_model
    out = tmp_path / "report.html"
    assert main(["report", str(path), "yeast", "--out", str(out), "--max-labels", "3"]) == 0
    html = out.read_text("utf-8")
    assert "917 labelled examples" in html and "best published" in html
    assert "the test split of yeast" in capsys.readouterr().err
    assert main(["report", str(path), "yeast", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_text("utf-8") == html


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--max-labels", "0"], "--max-labels must be a positive number"),
        (["--split", "val"], "--split val applies to image manifests"),
    ],
)
def test_bad_options_exit_2(yeast_model, tmp_path, capsys, extra, message):
    out = tmp_path / "r.html"
    assert main(["report", str(yeast_model[0]), "yeast", "--out", str(out), *extra]) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_an_output_directory_or_a_missing_model_exit_2(yeast_model, tmp_path, capsys):
    assert main(["report", str(yeast_model[0]), "yeast", "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    missing = tmp_path / "nope"
    assert main(["report", str(missing), "yeast", "--out", str(tmp_path / "r.html")]) == 2
    assert "nope" in capsys.readouterr().err


def test_evaluate_reads_a_builtin_for_a_model_trained_on_it_through_the_api(yeast_model, capsys):
    """The model remembers how load_builtin named its labels; a built-in is read without those options."""
    assert main(["evaluate", str(yeast_model[0]), "yeast", "--json"]) == 0
    assert '"n_samples": 917' in capsys.readouterr().out

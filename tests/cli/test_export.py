"""`brainnet export` and the torch-free prediction path: the CLI and the API predict from model.onnx without
importing torch (checked in subprocesses, once with torch made unimportable), with the numbers torch gives."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from brainnet.cli.main import main
from brainnet.pipeline.estimator import MultiLabelMLP
from brainnet.pipeline.image_estimator import MultiLabelImageClassifier
from tests.cli.test_main import _write_csv
from tests.pipeline.test_image_estimator import colour_images

LABELS = ["sea", "sun", "hill"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """(model dir, exported; a CSV of 20 rows to predict, with labels; the same without labels)."""
    d = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    Y = (X[:, :3] > 0).astype(np.uint8)
    MultiLabelMLP(n_models=2, hidden_sizes=(8,), epochs=2).fit(
        X, Y, feature_names=[f"x{j}" for j in range(6)], label_names=LABELS
    ).save(d / "model")
    assert main(["export", str(d / "model")]) == 0
    X_new = rng.normal(size=(20, 6))
    X_new[3, 2] = np.nan  # imputed inside the graph
    return d / "model", _write_csv(d / "rows.csv", X_new, (X_new[:, :3] > 0).astype(np.uint8))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """(model dir, exported; image files of other sizes than the model's, resized by Pillow)."""
    d = tmp_path_factory.mktemp("images")
    MultiLabelImageClassifier(image_size=24, epochs=1, batch_size=16).fit(colour_images(32)).save(
        d / "model"
    )
    assert main(["export", str(d / "model")]) == 0
    paths = []
    for i, array in enumerate(colour_images(3, seed=5, size=40).arrays):
        paths.append(d / f"img{i}.png")
        Image.fromarray(array).save(paths[-1])
    return d / "model", paths


def _predict_json(args, capsys):
    capsys.readouterr()
    assert main(["predict", *map(str, args), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_export_records_model_onnx_and_refuses_to_overwrite(table, capsys):
    model, _ = table
    meta = json.loads((model / "brainnet.json").read_text())
    assert meta["onnx"]["file"] == "model.onnx" and meta["onnx"]["n_models"] == 2
    assert main(["export", str(model)]) == 2
    assert "already holds model.onnx" in capsys.readouterr().err
    before = (model / "model.onnx").stat().st_mtime_ns
    assert main(["export", str(model), "--force"]) == 0
    assert (model / "model.onnx").stat().st_mtime_ns >= before


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: None, "model directory not found"),
        (lambda d: d.mkdir(), "brainnet.json is missing"),
        (lambda d: (d.mkdir(), (d / "brainnet.json").write_text("{")), "not valid JSON"),
    ],
)
def test_export_of_a_bad_model_dir_exits_2(tmp_path, capsys, setup, message):
    setup(tmp_path / "m")
    assert main(["export", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_scratch_model_needs_no_export(tmp_path, capsys):
    from brainnet.scratch.estimator import ScratchMultiLabelMLP

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    ScratchMultiLabelMLP(hidden_sizes=(4,), epochs=1).fit(X, (X[:, :2] > 0).astype(int)).save(
        tmp_path / "m"
    )
    assert main(["export", str(tmp_path / "m")]) == 2
    assert "already predicts with NumPy" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "m"), "x.csv", "--runtime", "torch"]) == 2
    assert "Use --runtime auto" in capsys.readouterr().err


def test_predict_and_evaluate_give_the_same_answers_on_both_runtimes(table, images, capsys):
    model, rows = table
    by_onnx = _predict_json([model, rows, "--runtime", "onnx"], capsys)
    by_torch = _predict_json([model, rows, "--runtime", "torch"], capsys)
    assert len(by_onnx) == 20 and [r["labels"] for r in by_onnx] == [r["labels"] for r in by_torch]
    for a, b in zip(by_onnx, by_torch, strict=True):
        assert np.allclose(
            list(a["probabilities"].values()), list(b["probabilities"].values()), atol=1e-5
        )
    scores = {}
    for runtime in ("onnx", "torch"):
        assert main(["evaluate", str(model), str(rows), "--json", "--runtime", runtime]) == 0
        scores[runtime] = json.loads(capsys.readouterr().out)
    assert scores["onnx"] == pytest.approx(scores["torch"], abs=1e-6)

    model, paths = images
    by_onnx = _predict_json([model, *paths], capsys)  # auto: the ONNX graph
    by_torch = _predict_json([model, *paths, "--runtime", "torch"], capsys)
    for a, b in zip(by_onnx, by_torch, strict=True):
        assert np.allclose(
            list(a["probabilities"].values()), list(b["probabilities"].values()), atol=1e-5
        )


def test_runtime_onnx_without_export_says_how(tmp_path, table, capsys):
    import shutil

    model, rows = table
    shutil.copytree(model, tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    del meta["onnx"]
    (tmp_path / "m" / "brainnet.json").write_text(json.dumps(meta))
    assert main(["predict", str(tmp_path / "m"), str(rows), "--runtime", "onnx"]) == 2
    assert "run `brainnet export" in capsys.readouterr().err


def test_a_corrupt_model_onnx_is_a_clear_error(tmp_path, table, capsys):
    import shutil

    model, rows = table
    shutil.copytree(model, tmp_path / "m")
    (tmp_path / "m" / "model.onnx").write_bytes(b"not a model")
    assert main(["predict", str(tmp_path / "m"), str(rows)]) == 2
    err = capsys.readouterr().err
    assert "does not match its checksum" in err and "brainnet export" in err


# torch made unimportable: the process fails if anything on the prediction path imports it
NO_TORCH = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, NoTorch())
"""


@pytest.mark.parametrize("block", [False, True], ids=["sys.modules", "torch blocked"])
def test_prediction_from_model_onnx_never_imports_torch(table, images, block):
    (table_model, rows), (image_model, paths) = table, images
    code = (NO_TORCH if block else "") + textwrap.dedent(
        f"""
        import sys
        from brainnet.cli.main import main
        assert main(["predict", {str(table_model)!r}, {str(rows)!r}, "--format", "json"]) == 0
        assert main(["predict", {str(image_model)!r}, {str(paths[0])!r}, "--format", "json"]) == 0
        import brainnet
        from brainnet.core.data.table import read_table
        m = brainnet.load({str(table_model)!r})
        data = read_table({str(rows)!r}, known_features=m.recipe_.feature_names, require_labels=False)
        P = m.predict_proba(data.X)
        assert P.shape == (20, 3) and m.runtime_ == "onnx"
        assert brainnet.load({str(image_model)!r}).predict_proba([{str(paths[1])!r}]).shape == (1, 2)
        heavy = [name for name in ("torch", "torchvision", "sklearn", "scipy") if name in sys.modules]
        print("HEAVY", heavy, file=sys.stderr)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "HEAVY []" in out.stderr

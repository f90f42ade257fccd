"""The report through the one estimator: every section, only embedded PNG images, published levels for a
built-in, a note for models saved without history, Grad-CAM for image models, and clear errors."""

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import brainnet
from brainnet.core.data.builtin_images import make_shapes
from brainnet.core.data.builtin_tables import load_builtin
from brainnet.core.errors import UserInputError
from brainnet.reporting import build_report

TABLE_SECTIONS = [
    "summary",
    "learning-curves",
    "metrics",
    "per-label",
    "pr-curves",
    "confusion",
    "co-occurrence",
    "reliability",
]
IMAGE_SECTIONS = [*TABLE_SECTIONS, "confident-errors", "grad-cam"]
OLD_MODELS = Path(__file__).parents[1] / "fixtures" / "models_v0_1_0"


def sections(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', html)


def section(html: str, name: str) -> str:
    return html.split(f'<section id="{name}">')[1].split("</section>")[0]


def pngs(html: str) -> list[Image.Image]:
    """Every <img> must be an embedded PNG that decodes."""
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == html.count("<img ")
    images = []
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        image.load()
        assert image.format == "PNG" and image.width > 0 and image.height > 0
        images.append(image)
    return images


def test_a_table_report_has_every_section_and_embeds_its_images(reports):
    html = reports["table"].read_text("utf-8")
    assert sections(html) == TABLE_SECTIONS
    assert len(pngs(html)) == 6  # a figure in every section but the two tables
    assert not re.search(r"(src|href)=\"(https?:|//|file:)", html) and "<script" not in html
    metrics = section(html, "metrics")
    assert "best published" in metrics and "Madjarov" in metrics and "0.7660" in metrics
    learning = section(html, "learning-curves")
    assert "<img" in learning and "no per-epoch history" not in learning
    # 8 of 14 labels in the plots, all 14 in the table
    assert "Plots show the 8 labels with the most support of 14" in section(html, "per-label")
    assert section(html, "per-label").count("<tr>") == 1 + 14


def test_an_image_report_shows_confident_errors_and_grad_cam(reports):
    html = reports["images"].read_text("utf-8")
    assert sections(html) == IMAGE_SECTIONS
    assert len(pngs(html)) == 8
    assert "best published" not in section(html, "metrics")  # generated data: nothing published
    errors = section(html, "confident-errors")
    assert "Every decision on every image is right" in errors or errors.count("<tr>") > 1


def test_a_trained_image_estimator_gives_maps_for_its_images(shapes_model):
    from brainnet.pipeline.gradcam import estimator_grad_cam

    model = shapes_model[1]
    shown, cams = estimator_grad_cam(model, make_shapes(6, size=32, seed=3), [0, 2, 5], [0, 1, 1])
    S = model.recipe_.image_size
    assert shown.shape == (3, S, S, 3) and cams.shape == (3, S, S)
    assert 0 <= shown.min() and shown.max() <= 1 and 0 <= cams.min() and cams.max() <= 1


def test_a_model_saved_without_history_gets_a_note_not_a_crash(tmp_path):
    """A brainnet 0.1.0 model directory (no per-epoch history), arrays and labels given separately."""
    expected = json.loads((OLD_MODELS / "expected.json").read_text())
    X = np.array(expected["table_torch"]["X"])
    Y = np.random.default_rng(0).integers(0, 2, size=(len(X), 3))
    path = brainnet.report(OLD_MODELS / "table_torch", X, Y, path=tmp_path / "old.html")
    html = path.read_text("utf-8")
    assert sections(html) == TABLE_SECTIONS
    assert "no per-epoch history" in section(html, "learning-curves")
    assert "<img" not in section(html, "learning-curves") and len(pngs(html)) == 5


def test_the_report_is_written_atomically_and_never_over_a_file_without_force(
    yeast_model, tmp_path
):
    target = tmp_path / "r.html"
    target.write_text("mine")
    data = load_builtin("yeast", "test")
    with pytest.raises(UserInputError, match="already exists"):
        brainnet.report(yeast_model[1], data, path=target, max_labels=2)
    assert target.read_text() == "mine"
    with pytest.raises(UserInputError, match="is a directory"):
        brainnet.report(yeast_model[1], data, path=tmp_path, max_labels=2)
    brainnet.report(yeast_model[1], data, path=target, force=True, max_labels=2)
    assert target.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary file left


@pytest.mark.parametrize(
    "change,message",
    [
        ({"Y": "none"}, "needs labelled data"),
        ({"Y": "wrong width"}, "differ from the model's"),
        ({"Y": "short"}, "Y has 10 rows but the data has 917"),
        ({"max_labels": 0}, "max_labels must be a positive number"),
        ({"model": "not a model"}, "needs a multi-label classifier"),
    ],
)
def test_bad_inputs_are_clear_errors(yeast_model, change, message):
    data = load_builtin("yeast", "test")
    model, X, Y, options = yeast_model[1], data.X, data.Y, {}
    if change.get("Y") == "none":
        Y = None
    elif change.get("Y") == "wrong width":
        Y = data.Y[:, :3]
    elif change.get("Y") == "short":
        Y = data.Y[:10]
    if "max_labels" in change:
        options["max_labels"] = change["max_labels"]
    if "model" in change:
        model = object()
    with pytest.raises(UserInputError, match=message):
        build_report(model, X, Y, **options)


def test_importing_the_report_imports_neither_torch_nor_matplotlib():
    code = (
        "import sys, brainnet.reporting; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

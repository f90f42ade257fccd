"""Tiny fitted models and their reports, built once per session (tables: yeast; images: generated shapes)."""

import pytest


@pytest.fixture(scope="session")
def yeast_model(tmp_path_factory):
    """A small torch MLP on yeast (two ensemble members, a few epochs), saved and loaded back."""
    import brainnet
    from brainnet.core.data.builtin_tables import load_builtin
    from brainnet.pipeline.estimator import MultiLabelMLP

    path = tmp_path_factory.mktemp("yeast") / "model"
    MultiLabelMLP(n_models=2, hidden_sizes=(16,), epochs=3, device="cpu").fit(
        load_builtin("yeast", "train")
    ).save(path)
    return path, brainnet.load(path)


@pytest.fixture(scope="session")
def shapes_model(tmp_path_factory):
    """A small seed CNN on 64 generated shapes images (32 px, two epochs), saved and loaded back."""
    import brainnet
    from brainnet.core.data.builtin_images import make_shapes
    from brainnet.pipeline.image_estimator import MultiLabelImageClassifier

    path = tmp_path_factory.mktemp("shapes") / "model"
    options = {"rotation": 0.0, "shift": 0.0, "hflip": False, "device": "cpu"}
    model = MultiLabelImageClassifier(image_size=24, epochs=2, batch_size=16, **options)
    model.fit(make_shapes(64, size=32, seed=0)).save(path)
    return path, brainnet.load(path)


@pytest.fixture(scope="session")
def reports(yeast_model, shapes_model, tmp_path_factory):
    """{"table": path of the yeast test report, "images": path of a shapes report}."""
    import brainnet
    from brainnet.core.data.builtin_images import make_shapes
    from brainnet.core.data.builtin_tables import load_builtin

    out = tmp_path_factory.mktemp("reports")
    # 8 of yeast's 14 labels in the plots: the many-labels path (and a faster build)
    test = load_builtin("yeast", "test")
    table = brainnet.report(yeast_model[1], test, path=out / "table.html", max_labels=8)
    shapes = make_shapes(40, size=32, seed=1)
    images = brainnet.report(shapes_model[1], shapes, path=out / "images.html")
    return {"table": table, "images": images}

"""Build the report of a fitted multi-label classifier on labelled data, through the one estimator.

Everything comes from the estimator's public face: its probabilities (``predict_with_errors``), its decisions
(``decide``: the tuned thresholds and the top-1 rule), the metric suite and the per-epoch history saved with
the model; Grad-CAM (torch image models) comes from ``brainnet.pipeline.gradcam``, imported only then.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainnet.core.decision import metrics
from brainnet.core.errors import UserInputError
from brainnet.core.files import atomic_write_text, check_writable_target
from brainnet.reporting import analysis, figures
from brainnet.reporting.html import Section, page

MAX_LABELS = 20  # per-label plots show the labels with the most support, at most this many
N_EXAMPLES = 12  # images: the most confidently wrong examples shown
GRADCAM_IMAGES = 4  # images: Grad-CAM maps per label (its most probable images)
GRADCAM_LABELS = 6  # images: labels with Grad-CAM maps (the most supported)
RELIABILITY_LABELS = 11  # per-label reliability panels besides the pooled one


@dataclass
class Scored:
    """The labelled rows the report is about. Y, Yhat: (n, L) uint8; P: (n, L) float64; ``rows`` (n,) are their
    indices in ``data`` (unreadable rows are left out and counted in ``bad``)."""

    data: Any
    name: str
    rows: np.ndarray
    Y: np.ndarray
    P: np.ndarray
    Yhat: np.ndarray
    bad: dict[int, str]


def report(
    model: Any,
    X: Any,
    Y: Any = None,
    *,
    path: str | Path,
    force: bool = False,
    published: dict[str, float] | None = None,
    published_source: str = "",
    max_labels: int = MAX_LABELS,
    title: str | None = None,
) -> Path:
    """Write the HTML report of ``model`` on labelled data ``X`` (and ``Y``) to ``path``, atomically.

    Args:
        model: a fitted multi-label estimator, or the path of a model directory (``brainnet.load``).
        X: data in the model's terms: a ``Dataset`` or (n, d) features for tables, an ``ImageSet`` for images.
        Y: (n, L) 0/1 labels when ``X`` carries none.
        path: the .html file to write; an existing file is replaced only with ``force``.
        published: metric -> best published value, shown beside the model's; default: the published
            results of a built-in table when ``X`` is its test split (``load_builtin(name, "test")``).
        published_source: where ``published`` comes from.
        max_labels: per-label plots show this many labels, those with the most support (default 20).
        title: the page title (default: "brainnet report: <data name>").

    Returns:
        The path written.
    """
    path = Path(path)
    if path.is_dir():
        raise UserInputError(
            f"{str(path)!r} is a directory; give the report a file name such as report.html."
        )
    check_writable_target(path, force=force, what="report")
    html = build_report(
        model,
        X,
        Y,
        published=published,
        published_source=published_source,
        max_labels=max_labels,
        title=title,
    )
    return atomic_write_text(path, html, force=force)


def build_report(
    model: Any,
    X: Any,
    Y: Any = None,
    *,
    published: dict[str, float] | None = None,
    published_source: str = "",
    max_labels: int = MAX_LABELS,
    title: str | None = None,
) -> str:
    """The report as one HTML string (see ``report``)."""
    if isinstance(max_labels, bool) or not isinstance(max_labels, int) or max_labels < 1:
        raise UserInputError(
            f"max_labels must be a positive number of labels; received {max_labels!r}. Pass e.g. 20."
        )
    start = time.perf_counter()
    model = _classifier(model)
    scored = _score(model, X, Y)
    if published is None:
        published, published_source = _builtin_published(scored.name)
    names = list(model.label_names_)
    stats = analysis.label_stats(scored.Y, scored.P, scored.Yhat)
    idx = analysis.top_labels(stats.support, max_labels)
    shown = (
        f"Plots show the {len(idx)} labels with the most support of {len(names)}; the table lists all."
        if len(idx) < len(names)
        else ""
    )
    sections = [
        _summary(model, scored, names),
        _learning_curves(model),
        _metrics(scored, published or {}, published_source),
        _per_label(names, stats, idx, model.thresholds_.thresholds, shown),
        _pr_curves(scored, model.thresholds_.thresholds, names, idx, shown),
        _confusion(names, stats, idx, shown),
        _cooccurrence(scored, names, idx, shown),
        _reliability(scored, names, idx),
    ]
    if getattr(model, "baselines_", None):  # brainnet train --baselines
        sections.insert(3, _baselines(model.baselines_))
    if model.recipe_.kind == "images":
        sections += [_confident_errors(scored, names), _grad_cam(model, scored, names, idx)]
    data_name = scored.name
    subtitle = (
        f"{type(model).__name__} ({model.engine} engine, {model.config.model}) on {data_name}: "
        f"{len(scored.rows)} labelled examples; built in {time.perf_counter() - start:.1f} s by "
        f"brainnet {_version()}"
    )
    return page(title or f"brainnet report: {data_name}", subtitle, sections)


def _version() -> str:
    from brainnet import __version__

    return __version__


def _classifier(model: Any) -> Any:
    from brainnet.core.estimator import MultiLabelEstimator

    if isinstance(model, str | Path):
        import brainnet

        model = brainnet.load(model)
    if not isinstance(model, MultiLabelEstimator):
        raise UserInputError(
            f"a report needs a multi-label classifier (brainnet train, or an estimator's fit); received "
            f"{type(model).__name__}."
        )
    model._check_fitted()
    return model


def _score(model: Any, X: Any, Y: Any) -> Scored:
    """The model's probabilities and decisions on the readable rows of labelled data."""
    data = model.recipe_.inputs(X, model.label_names_)
    labels = model.recipe_.labels(data) if Y is None else np.asarray(Y)
    if labels is None:
        raise UserInputError(
            "a report needs labelled data; the data has no labels. Pass Y, or data read with its labels."
        )
    names = model.recipe_.label_names(data) if Y is None else model.label_names_
    if list(names) != list(model.label_names_) or labels.shape[1:] != (len(model.label_names_),):
        raise UserInputError(
            f"the data's labels {list(names)} differ from the model's {model.label_names_}; report on data "
            "labelled with the same names."
        )
    P, bad = model.predict_with_errors(data)
    if len(labels) != len(P):
        raise UserInputError(
            f"Y has {len(labels)} rows but the data has {len(P)}; pass one label row per example."
        )
    rows = np.array([i for i in range(len(P)) if i not in bad], dtype=np.int64)
    if len(rows) == 0:
        raise UserInputError(f"none of the {len(P)} inputs could be read; nothing to report on.")
    P = P[rows]
    name = getattr(X, "name", "") or getattr(data, "name", "") or "given arrays"
    return Scored(data, name, rows, labels[rows].astype(np.uint8), P, model.decide(P), bad)


def _builtin_published(name: str) -> tuple[dict[str, float] | None, str]:
    """The published results of a built-in dataset when ``name`` is its test split ("yeast (test)")."""
    from brainnet.core.data.builtin_images import IMAGE_DATASETS
    from brainnet.core.data.builtin_tables import DATASETS

    match = re.fullmatch(r"(\w+) \(test\)", name or "")
    for registry in (DATASETS, IMAGE_DATASETS):
        if match and match.group(1) in registry.names():
            info = registry.get(match.group(1))
            return (dict(info.published) or None), info.published_source
    return None, ""


# ---------------------------------------------------------------------- sections
def _summary(model: Any, scored: Scored, names: list[str]) -> Section:
    cfg, t = model.config, model.thresholds_
    facts = [
        ("model", f"{type(model).__name__}, {cfg.model} ({model.engine} engine)"),
        ("ensemble members", len(model.models_)),
        ("training rows / validation", f"{model.n_train_} / {model.validation_}"),
        ("thresholds", f"tuned for {t.objective} on {model.n_val_} validation examples"),
        ("top-1 rule (every example gets a label)", "on" if model.at_least_one_ else "off"),
        ("data", scored.name),
        ("examples scored", len(scored.rows)),
        ("labels", f"{len(names)}, {scored.Y.sum(axis=1).mean():.2f} per example on average"),
    ]
    section = Section("summary", "Model and data").table(["", "value"], facts)
    if scored.bad:
        first = next(iter(scored.bad.values()))
        section.note(
            f"{len(scored.bad)} inputs could not be read and are left out (first: {first})."
        )
    return section


def _learning_curves(model: Any) -> Section:
    section = Section("learning-curves", "Learning curves")
    history = [logs for logs in model.history_ if logs]
    if not history:
        return section.note(
            "This model directory keeps no per-epoch history (it was saved by an older brainnet or is a "
            "checkpoint); retrain it to see its learning curves. Best epochs: "
            + ", ".join(str(run.get("best_epoch")) for run in model.training_)
            + "."
        )
    monitor = model.config.monitor
    key = "val_loss" if monitor == "loss" else f"val_{monitor}"
    best = [run.get("best_epoch") for run in model.training_]
    section.text(
        f"Training loss and validation loss per epoch, and the monitored {key} early stopping watched; "
        "each ensemble member has its colour and its best epoch (the weights kept) is marked."
    )
    return section.image(figures.learning_curves(history, best, key), "learning curves")


def _metrics(scored: Scored, published: dict[str, float], source: str) -> Section:
    result = metrics.evaluate(scored.Y, scored.P, scored.Yhat)
    keys = [k for k in metrics.METRIC_KEYS if k in result]
    keys += [k for k in result if k not in keys]
    header = ["metric", "better", "this model", *(["best published"] if published else [])]
    rows = []
    for k in keys:
        if isinstance(result[k], int):  # a count (n_samples, n_labels), not a score
            row = [k, "", result[k]]
        else:
            row = [k, "lower" if k in metrics.LOWER_IS_BETTER else "higher", float(result[k])]
        if published:
            row.append(published.get(k))
        rows.append(row)
    section = Section("metrics", "Metrics").table(header, rows)
    if published:
        section.text(f"Best published: {source}.")
    return section


def _baselines(record: dict[str, Any]) -> Section:
    """The comparison ``brainnet train --baselines`` saved: brainnet beside scikit-learn on the same rows."""
    keys = ("hamming_loss", "micro_f1", "macro_f1", "average_precision", "one_error")
    section = Section("baselines", "Baselines")
    section.text(
        "Recorded at training (brainnet train --baselines): scikit-learn models fitted on the same folds, with "
        f"the same preprocessing and the same threshold rule (tuned for {record['threshold_objective']} on "
        f"their out-of-fold probabilities). Validation: {record['validation']}."
    )
    for split in ("validation", "test"):
        rows = [
            [name, m["title"], float(m["fit_seconds"])]
            + [m[f"{split}_metrics"].get(k) for k in keys]
            for name, m in record["methods"].items()
            if f"{split}_metrics" in m
        ]
        if rows:
            section.text(
                f"{split.capitalize()} metrics (lower is better for hamming_loss, one_error):"
            )
            section.table(["method", "model", "fit s", *keys], rows)
    return section


def _per_label(names, stats, idx, thresholds, shown: str) -> Section:
    section = Section("per-label", "Per-label precision, recall and F1")
    section.text(
        "Precision, recall and F1 of the thresholded decisions per label, with the number of examples "
        "carrying the label (support); as in the metric suite, 0/0 counts as 1.0 (a label never predicted "
        "has precision 1.0), so the mean F1 is the macro-F1 above."
    )
    if shown:
        section.note(shown)
    section.image(figures.label_bars(names, stats, idx), "per-label precision, recall and F1")
    header = ["label", "support", "predicted", "precision", "recall", "F1", "AP", "threshold"]
    rows = [
        [
            names[j],
            int(stats.support[j]),
            int(stats.tp[j] + stats.fp[j]),
            float(stats.precision[j]),
            float(stats.recall[j]),
            float(stats.f1[j]),
            float(stats.ap[j]),
            float(thresholds[j]),
        ]
        for j in np.argsort(-stats.support, kind="stable")
    ]
    return section.table(header, rows, scroll=len(rows) > 20)


def _pr_curves(scored: Scored, thresholds, names, idx, shown: str) -> Section:
    section = Section("pr-curves", "Precision-recall curves")
    section.text(
        "One curve per label over every threshold; the red dot is the model's tuned threshold."
    )
    if shown:
        section.note(shown)
    return section.image(
        figures.pr_curves(scored.Y, scored.P, thresholds, names, idx), "precision-recall curves"
    )


def _confusion(names, stats, idx, shown: str) -> Section:
    section = Section("confusion", "Per-label confusion")
    section.text("Per label: true positives, false negatives, false positives and true negatives.")
    if shown:
        section.note(shown)
    return section.image(figures.confusion_grid(names, stats, idx), "per-label confusion grid")


def _cooccurrence(scored: Scored, names, idx, shown: str) -> Section:
    section = Section("co-occurrence", "Label co-occurrence")
    section.text(
        "How often two labels occur together, in the true labels and in the model's decisions "
        "(the diagonal: how often each label occurs)."
    )
    if shown:
        section.note(shown)
    order = np.asarray(idx)
    C_true = analysis.cooccurrence(scored.Y[:, order])
    C_pred = analysis.cooccurrence(scored.Yhat[:, order])
    png = figures.cooccurrence(C_true, C_pred, [names[j] for j in order], len(scored.rows))
    return section.image(png, "label co-occurrence")


def _reliability(scored: Scored, names, idx) -> Section:
    pooled = analysis.reliability(scored.Y, scored.P)
    per_label = [
        (names[j], analysis.reliability(scored.Y[:, j], scored.P[:, j]))
        for j in idx[:RELIABILITY_LABELS]
    ]
    eces = [analysis.reliability(scored.Y[:, j], scored.P[:, j]).ece for j in range(len(names))]
    section = Section("reliability", "Reliability (calibration)")
    section.text(
        "Fraction of positives against the mean predicted probability in 10 equal-width bins; points on the "
        f"diagonal are calibrated. Expected calibration error: pooled {pooled.ece:.4f}, mean over labels "
        f"{float(np.mean(eces)):.4f}."
    )
    if len(names) > len(per_label):
        section.note(f"Per-label panels show the {len(per_label)} labels with the most support.")
    return section.image(figures.reliability(pooled, per_label), "reliability diagrams")


def _confident_errors(scored: Scored, names) -> Section:
    section = Section("confident-errors", "Most confidently wrong images")
    errors = analysis.confident_errors(scored.Y, scored.P, scored.Yhat, N_EXAMPLES)
    if not errors:
        return section.text("Every decision on every image is right.")
    section.text(
        "The images whose worst wrong decision was the most confident (p for a false positive, 1 - p for a "
        "false negative), with their true and predicted labels."
    )
    images, captions, table = [], [], []
    paths = getattr(scored.data, "paths", None)
    for i, confidence in errors:
        row = int(scored.rows[i])
        true, pred = (
            analysis.label_list(names, scored.Y[i]),
            analysis.label_list(names, scored.Yhat[i]),
        )
        images.append(scored.data.image(row))
        captions.append(f"true: {true}\npred: {pred}\nconfidence {confidence:.2f}")
        table.append(
            [str(paths[row]) if paths is not None else f"row {row}", true, pred, confidence]
        )
    section.image(figures.image_grid(images, captions), "most confidently wrong images")
    return section.table(["image", "true labels", "predicted labels", "confidence"], table)


def _grad_cam(model: Any, scored: Scored, names, idx) -> Section:
    section = Section("grad-cam", "Grad-CAM: where the network looked")
    if model.engine != "torch":
        return section.note(f"Grad-CAM needs a torch image model; this one runs on {model.engine}.")
    from brainnet.pipeline.gradcam import estimator_grad_cam

    labels = [int(j) for j in idx[:GRADCAM_LABELS]]
    rows, which = [], []
    for j in labels:  # each label's most probable images
        top = np.argsort(-scored.P[:, j], kind="stable")[:GRADCAM_IMAGES]
        rows += [int(i) for i in top]
        which += [j] * len(top)
    shown, cams = estimator_grad_cam(model, scored.data, [int(scored.rows[i]) for i in rows], which)
    grid = []
    for j in labels:
        items = [
            (
                shown[k],
                cams[k],
                f"p={scored.P[rows[k], j]:.2f}, has it: {'yes' if scored.Y[rows[k], j] else 'no'}",
            )
            for k in range(len(rows))
            if which[k] == j
        ]
        grid.append((names[j], items))
    section.text(
        "For each label (rows), its most probable images with the Grad-CAM map of that label over them "
        "(last convolution; red: what raised the label's score); 'has it': whether the image carries the label."
    )
    if len(names) > len(labels):
        section.note(f"Grad-CAM rows show the {len(labels)} labels with the most support.")
    return section.image(figures.gradcam_grid(grid), "Grad-CAM maps per label")

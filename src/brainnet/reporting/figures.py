"""The report's plots: matplotlib figures drawn off-screen (Agg, no pyplot state) and returned as PNG bytes.

matplotlib is imported inside each function, so importing this module costs nothing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from brainnet.reporting.analysis import LabelStats, Reliability, operating_point, pr_curve

DPI = 80


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _panels(
    n: int, cols: int, width: float, height: float, *, share: bool = True, pad: float = 0.45
) -> tuple[Any, np.ndarray]:
    """A grid of ``n`` panels of ``width`` x ``height`` inches (``cols`` a row at most), margins in inches.

    Fixed margins instead of constrained layout: the small multiples have many axes and measuring every tick
    label would double the drawing time. Returns (figure, axes flattened (rows * cols,)); unused axes hidden.
    """
    from matplotlib.figure import Figure

    rows, cols = _grid(n, cols)
    left, right, top, bottom = 0.75, 0.15, 0.35, 0.6
    fig_w, fig_h = left + right + cols * width, top + bottom + rows * height
    fig = Figure(figsize=(fig_w, fig_h), dpi=DPI)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=share, sharey=share).ravel()
    fig.subplots_adjust(
        left=left / fig_w,
        right=1 - right / fig_w,
        top=1 - top / fig_h,
        bottom=bottom / fig_h,
        wspace=pad / (width - pad),
        hspace=pad / (height - pad),
    )
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig, axes


def _png(fig: Any) -> bytes:
    """The figure as PNG bytes (Agg; no timestamp or version in the file, so equal figures give equal bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _grid(n: int, cols: int) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols


def _short(name: str, width: int = 18) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def learning_curves(
    history: Sequence[Sequence[dict[str, float]]], best_epochs: Sequence[int | None], metric: str
) -> bytes:
    """Left: training and validation loss per epoch; right: the validation ``metric`` (a log key such as
    "val_average_precision"); one colour per ensemble member, its best epoch marked by a dotted line and a dot."""
    fig = _figure(10, 3.6)
    ax_loss, ax_metric = fig.subplots(1, 2)
    for k, logs in enumerate(history):
        colour = f"C{k % 10}"
        epochs = [row["epoch"] for row in logs]
        member = f"model {k + 1}" if len(history) > 1 else "model"
        for key, style in (("train_loss", "-"), ("val_loss", "--")):
            if any(key in row for row in logs):
                values = [row.get(key, np.nan) for row in logs]
                ax_loss.plot(epochs, values, style, color=colour, label=f"{member} {key}")
        values = [row.get(metric, np.nan) for row in logs]
        ax_metric.plot(epochs, values, "-", color=colour, label=member)
        best = best_epochs[k] if k < len(best_epochs) else None
        if best:
            for ax in (ax_loss, ax_metric):
                ax.axvline(best, color=colour, linestyle=":", linewidth=1)
            ax_metric.plot([best], [values[best - 1]], "o", color=colour)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss (solid: training, dashed: validation)")
    ax_metric.set(xlabel="epoch", ylabel=metric, title=f"{metric} (dot: best epoch, kept)")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    if len(history) <= 6:
        ax_metric.legend(fontsize=8)
    return _png(fig)


def label_bars(names: list[str], stats: LabelStats, idx: np.ndarray) -> bytes:
    """Grouped horizontal bars of precision, recall and F1 for the labels ``idx``, support in the labels."""
    fig = _figure(9, 1.2 + 0.42 * len(idx))
    ax = fig.subplots()
    y = np.arange(len(idx))
    for shift, (what, values) in zip(
        (-0.27, 0.0, 0.27),
        (("precision", stats.precision), ("recall", stats.recall), ("F1", stats.f1)),
        strict=True,
    ):
        ax.barh(y + shift, values[idx], height=0.26, label=what)
    ax.set_yticks(y, [f"{_short(names[j])} (n={int(stats.support[j])})" for j in idx])
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.0), xlabel="score (thresholded decisions)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def pr_curves(
    Y: np.ndarray, P: np.ndarray, thresholds: np.ndarray, names: list[str], idx: np.ndarray
) -> bytes:
    """One precision-recall curve per label in ``idx``; a red dot marks the model's threshold."""
    fig, axes = _panels(len(idx), 4, 2.5, 2.3)
    for ax, j in zip(axes, idx, strict=False):
        recall, precision, _ = pr_curve(Y[:, j], P[:, j])
        ax.step(np.r_[0.0, recall], np.r_[precision[:1], precision], where="post", linewidth=1.2)
        r, p = operating_point(Y[:, j], P[:, j], float(thresholds[j]))
        ax.plot([r], [p], "o", color="red", markersize=6)
        ax.set_title(f"{_short(names[j])}  t={thresholds[j]:.2f}", fontsize=9)
        ax.set(xlim=(0, 1.02), ylim=(0, 1.02))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.supxlabel("recall", fontsize=9)
    fig.supylabel("precision", fontsize=9)
    return _png(fig)


def confusion_grid(names: list[str], stats: LabelStats, idx: np.ndarray) -> bytes:
    """A 2x2 matrix per label in ``idx``: rows true (1, 0), columns predicted (1, 0): TP FN / FP TN."""
    fig, axes = _panels(len(idx), 5, 2.0, 2.0, pad=0.6)
    for ax, j in zip(axes, idx, strict=False):
        m = np.array([[stats.tp[j], stats.fn[j]], [stats.fp[j], stats.tn[j]]], dtype=np.float64)
        # colour: the share of each true row (recall in the top row, 1 - false-positive rate below)
        shade = m / np.maximum(m.sum(axis=1, keepdims=True), 1.0)
        ax.imshow(shade, cmap="Blues", vmin=0, vmax=1)
        for (r, c), v in np.ndenumerate(m):
            tag = (("TP", "FN"), ("FP", "TN"))[r][c]
            colour = "white" if shade[r, c] > 0.55 else "black"
            ax.text(c, r, f"{tag}\n{int(v)}", ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks([0, 1], ["pred 1", "pred 0"], fontsize=7)
        ax.set_yticks([0, 1], ["true 1", "true 0"], fontsize=7)
        ax.set_title(_short(names[j]), fontsize=9)
    return _png(fig)


def cooccurrence(C_true: np.ndarray, C_pred: np.ndarray, names: list[str], n: int) -> bytes:
    """Side by side: the share of examples carrying both labels, in the true labels and in the predictions."""
    fig = _figure(11, 4.0 + 0.1 * len(names))
    axes = fig.subplots(1, 2)
    vmax = max(C_true.max(), C_pred.max(), 1) / max(n, 1)
    ticks = [_short(s, 12) for s in names]
    for ax, C, title in ((axes[0], C_true, "true labels"), (axes[1], C_pred, "predicted labels")):
        im = ax.imshow(C / max(n, 1), cmap="viridis", vmin=0, vmax=vmax)
        ax.set_title(f"{title}: share of examples with both", fontsize=10)
        ax.set_xticks(range(len(names)), ticks, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), ticks, fontsize=7)
    fig.colorbar(im, ax=axes, shrink=0.7)
    return _png(fig)


def reliability(overall: Reliability, per_label: list[tuple[str, Reliability]]) -> bytes:
    """Reliability diagrams: fraction of positives against mean probability per bin, the diagonal being
    perfect calibration; the first panel pools every (example, label) pair, then one panel per label."""
    panels = [("all labels (pooled)", overall), *per_label]
    fig, axes = _panels(len(panels), 4, 2.5, 2.3)
    for ax, (title, rel) in zip(axes, panels, strict=False):
        centres = (rel.edges[:-1] + rel.edges[1:]) / 2
        full = rel.count > 0
        ax.bar(
            centres,
            np.where(full, rel.frequency, 0),
            width=rel.edges[1] - rel.edges[0],
            alpha=0.35,
            edgecolor="C0",
        )
        ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1)
        ax.plot(rel.confidence[full], rel.frequency[full], "o-", color="C1", markersize=3)
        ax.set_title(f"{_short(title, 22)}  ECE {rel.ece:.3f}", fontsize=9)
        ax.set(xlim=(0, 1), ylim=(0, 1))
        ax.tick_params(labelsize=7)
    fig.supxlabel("mean predicted probability (bin)", fontsize=9)
    fig.supylabel("fraction positive", fontsize=9)
    return _png(fig)


def image_grid(images: list[np.ndarray], captions: list[str], cols: int = 6) -> bytes:
    """Images (H, W, 3) uint8 or float in [0, 1] with a caption under each."""
    fig, axes = _panels(len(images), cols, 1.9, 2.4, share=False, pad=0.6)
    for ax, image, caption in zip(axes, images, captions, strict=False):
        ax.imshow(image, interpolation="nearest")
        ax.set_xlabel(caption, fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    return _png(fig)


def gradcam_grid(rows: list[tuple[str, list[tuple[np.ndarray, np.ndarray, str]]]]) -> bytes:
    """One row per label: its top images with the Grad-CAM map (``jet``, half transparent) over them.

    Args:
        rows: [(label, [(image (S, S, 3) float in [0, 1], cam (S, S) in [0, 1], caption)])].
    """
    cols = max(len(items) for _, items in rows)
    fig = _figure(2.0 * cols + 0.8, 2.1 * len(rows))
    axes = fig.subplots(len(rows), cols, squeeze=False)
    for r, (label, items) in enumerate(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(items):
                ax.set_axis_off()
                continue
            image, cam, caption = items[c]
            ax.imshow(image, interpolation="nearest")
            ax.imshow(cam, cmap="jet", alpha=0.45, vmin=0, vmax=1, interpolation="bilinear")
            ax.set_xlabel(caption, fontsize=7)
        axes[r, 0].set_ylabel(_short(label), fontsize=9)
    return _png(fig)

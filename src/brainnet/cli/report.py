"""Tables the CLI prints: metrics (beside published results when known) and data summaries."""

from __future__ import annotations

import math
from collections.abc import Mapping

from rich.console import Console
from rich.table import Table

from brainnet.core.data.dataset import Dataset
from brainnet.core.decision.metrics import LOWER_IS_BETTER, METRIC_KEYS

_LABELS = {
    "hamming_loss": "Hamming loss",
    "subset_accuracy": "subset accuracy (exact match)",
    "accuracy": "accuracy (example Jaccard)",
    "example_f1": "example-based F1",
    "micro_f1": "micro-F1",
    "macro_f1": "macro-F1",
    "one_error": "one-error",
    "coverage": "coverage",
    "ranking_loss": "ranking loss",
    "average_precision": "average precision (ranking)",
    "macro_auc": "macro ROC-AUC",
    "mean_average_precision": "mean average precision (labels)",
    "ece_micro": "calibration error ECE (cells)",
    "ece_macro": "calibration error ECE (labels)",
}


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return "n/a" if isinstance(value, float) and math.isnan(value) else f"{value:.4f}"


def metrics_table(
    columns: Mapping[str, Mapping[str, float]],
    *,
    published: Mapping[str, float] | None = None,
    title: str = "",
) -> Table:
    """One row per metric, one column per result set; a 'best published' column when given."""
    table = Table(title=title or None, title_justify="left")
    table.add_column("metric")
    table.add_column("", justify="center")
    for name in columns:
        table.add_column(name, justify="right")
    if published:
        table.add_column("best published", justify="right", style="dim")
    for key in METRIC_KEYS:
        row = [_LABELS[key], "↓" if key in LOWER_IS_BETTER else "↑"]
        row += [_fmt(col.get(key)) for col in columns.values()]
        if published:
            row.append(_fmt(published.get(key)))
        table.add_row(*row)
    return table


BASELINE_KEYS = ("hamming_loss", "micro_f1", "macro_f1", "average_precision", "one_error")
_SHORT = {"average_precision": "AP", "hamming_loss": "Hamming"}


def baselines_table(record: Mapping, split: str = "validation") -> Table:
    """brainnet beside the baselines (``brainnet train --baselines``): one row per method, the best in bold.

    Args:
        record: ``brainnet.core.baselines.compare``'s result ("baselines" in brainnet.json).
        split: "validation" (the out-of-fold rows every method was thresholded on) or "test".
    """
    where = record["validation"] if split == "validation" else "test data"
    table = Table(
        title=f"brainnet and baselines, {split} ({where}; thresholds for {record['threshold_objective']})",
        title_justify="left",
    )
    table.add_column("method")
    table.add_column("fit s", justify="right")
    for key in BASELINE_KEYS:
        arrow = "↓" if key in LOWER_IS_BETTER else "↑"
        table.add_column(f"{_SHORT.get(key, _LABELS[key])} {arrow}", justify="right")
    rows = {
        name: m.get(f"{split}_metrics", {}) for name, m in record["methods"].items()
    }  # name -> metrics
    best = {}
    for key in BASELINE_KEYS:
        values = [r[key] for r in rows.values() if key in r and not math.isnan(r[key])]
        if values:
            best[key] = min(values) if key in LOWER_IS_BETTER else max(values)
    for name, m in record["methods"].items():
        cells = []
        for key in BASELINE_KEYS:
            value = rows[name].get(key)
            text = _fmt(value)
            cells.append(
                f"[bold]{text}[/bold]" if value is not None and value == best.get(key) else text
            )
        table.add_row(name, f"{m['fit_seconds']:.1f}", *cells)
    table.caption = "; ".join(
        f"{n}: {m['title']}" for n, m in record["methods"].items() if n != "brainnet"
    )
    table.caption_justify = "left"
    return table


def data_summary(data: Dataset) -> str:
    card = (
        float(data.Y.sum(axis=1).mean()) if data.Y is not None and data.n_samples else float("nan")
    )
    line = f"{data.name}: {data.n_samples} rows, {data.n_features} features, {data.n_labels} labels"
    return line + (f", {card:.3f} labels per row" if data.Y is not None else "")


def print_notes(console: Console, notes: list[str]) -> None:
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def training_summary(model, out) -> str:
    """One line on what ``brainnet train`` did: the networks, the validation rows, the thresholds."""
    t, cfg = model.thresholds_, model.config
    runs = model.training_
    if len(runs) == 1:
        what = f"{runs[0]['epochs_run']} epochs, best {runs[0]['best_epoch']}"
    else:
        what = f"{len(runs)} models"
    return (
        f"saved {out}/ ({model.engine} engine, {cfg.model}: {what}) "
        f"in {model.fit_seconds_:.1f} s; validation: {model.validation_}; thresholds tuned for "
        f"{t.objective} on {model.n_val_} examples ({t.score_at_half:.4f} at 0.5 -> {t.score:.4f})"
    )

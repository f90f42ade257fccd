"""``brainnet`` command line: train, evaluate, predict, datasets.

Thin by design: parse arguments, call the library, write files, and turn user mistakes
(``UserInputError``, unreadable files) into one clear message on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import sys
from pathlib import Path

from brainnet import __version__
from brainnet.cli.options import (
    add_config_options,
    add_data_options,
    config_from_args,
    label_spec_from_args,
)
from brainnet.core.errors import UserInputError

EXIT_USER_ERROR = 2
# --engine NAME -> (module, estimator class)
ENGINES = {
    "torch": ("brainnet.pipeline.estimator", "MultiLabelMLP"),
    "scratch": ("brainnet.scratch.estimator", "ScratchMultiLabelMLP"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brainnet",
        description="Multi-label classification you can trust: train, evaluate, predict.",
    )
    parser.add_argument("--version", action="version", version=f"brainnet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "train", help="train a model, tune per-label thresholds, save it, report metrics"
    )
    p.add_argument(
        "data",
        metavar="DATA",
        help="a CSV/ARFF path or a built-in dataset name (see `brainnet datasets`)",
    )
    p.add_argument(
        "--test",
        metavar="DATA",
        help="held-out data for the final report (built-ins use their test split)",
    )
    p.add_argument(
        "--out", required=True, metavar="MODEL_DIR", help="directory to write the model to"
    )
    p.add_argument("--force", action="store_true", help="replace an existing model directory")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the test (else validation) metrics as one JSON object",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--engine",
        choices=tuple(ENGINES),
        default="torch",
        help="torch: the PyTorch MLP (default; uses a GPU when present); scratch: the same MLP on the "
        "hand-written NumPy engine (brainnet.scratch)",
    )
    add_data_options(p)
    add_config_options(p)
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("evaluate", help="the metric suite of a saved model on labelled data")
    p.add_argument("model", metavar="MODEL_DIR")
    p.add_argument(
        "data", metavar="DATA", help="a CSV/ARFF path or a built-in name (its test split)"
    )
    p.add_argument(
        "--split", choices=("train", "test"), default="test", help="split of a built-in dataset"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_data_options(p)
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("predict", help="per-label probabilities and label sets for new rows")
    p.add_argument("model", metavar="MODEL_DIR")
    p.add_argument(
        "input", metavar="INPUT", help="a CSV whose header holds the model's feature names"
    )
    p.add_argument(
        "--out", metavar="OUT.csv", help="write the predictions here (default: standard output)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("datasets", help="list the built-in datasets")
    p.set_defaults(run=cmd_datasets)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except UserInputError as e:
        print(f"error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted before anything could be saved", file=sys.stderr)
        return 130
    except OSError as e:  # unreadable input, unwritable output, disk full: the user's to fix
        print(
            f"error: {e.strerror or e}{f': {e.filename!r}' if e.filename else ''}", file=sys.stderr
        )
    return EXIT_USER_ERROR


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def cmd_train(args: argparse.Namespace) -> int:
    from brainnet.cli.report import data_summary, metrics_table, print_notes
    from brainnet.core.datasets import DATASETS
    from brainnet.core.files import check_writable_target
    from brainnet.core.tabular import read_table

    config = config_from_args(args)
    spec = label_spec_from_args(args)
    out = Path(args.out)
    check_writable_target(out, force=args.force, what="model directory")
    err = _console(stderr=True)

    train = read_table(args.data, spec, split="train")
    test = None
    test_source = args.test or (args.data if args.data in DATASETS else None)
    if test_source is not None:
        test = read_table(
            test_source,
            spec,
            split="test",
            known_features=train.feature_names,
            known_labels=train.label_names,
        )
    err.print(data_summary(train))
    if test is not None:
        err.print(data_summary(test))
    print_notes(err, train.notes + (test.notes if test else []))

    module, name = ENGINES[args.engine]
    estimator = getattr(importlib.import_module(module), name)
    checkpoint = out.with_name(out.name + ".checkpoint")
    model = estimator.from_config(config)
    model.fit(train, verbose=not args.quiet, checkpoint=checkpoint, label_spec=spec)
    model.save(out, force=args.force)
    _remove_checkpoint(checkpoint)
    print_notes(err, model.notes_)
    t = model.thresholds_
    err.print(
        f"saved {out}/ ({model.engine} engine): {len(model.models_)} model(s) in {model.fit_seconds_:.1f} s; validation: "
        f"{model.validation_}; thresholds tuned for {t.objective} on {model.n_val_} rows "
        f"({t.score_at_half:.4f} at 0.5 -> {t.score:.4f})"
    )

    columns = {"validation": model.val_metrics_}
    if test is not None:
        columns["test"] = model.evaluate(test)
    if args.json:
        print(json.dumps(columns.get("test", model.val_metrics_)))
        return 0
    published = (
        DATASETS.get(args.data).published if args.data in DATASETS and args.test is None else None
    )
    _console().print(
        metrics_table(columns, published=published, title=f"brainnet train {args.data}")
    )
    return 0


def _remove_checkpoint(path: Path) -> None:
    import shutil

    from brainnet.core.model_dir import is_model_dir

    if is_model_dir(path):
        shutil.rmtree(path, ignore_errors=True)


def _load_classifier(path: str):
    """A saved multi-label classifier of any engine; another kind of model directory is a user error."""
    import brainnet
    from brainnet.core.estimator import MultiLabelEstimator

    model = brainnet.load(path)
    if not isinstance(model, MultiLabelEstimator):
        raise UserInputError(
            f"{path!r} holds a {type(model).__name__}, not a multi-label classifier; evaluate and predict "
            "read models written by `brainnet train` (or an estimator's save)."
        )
    return model


def cmd_evaluate(args: argparse.Namespace) -> int:
    from brainnet.cli.report import metrics_table
    from brainnet.core.tabular import read_table

    model = _load_classifier(args.model)
    spec = label_spec_from_args(args)
    data = read_table(
        args.data,
        spec if not spec.is_empty() else model.label_spec_,
        split=args.split,
        known_features=model.feature_names_,
        known_labels=model.label_names_,
    )
    result = model.evaluate(data)
    if args.json:
        print(json.dumps(result))
    else:
        _console().print(
            metrics_table({data.name or args.data: result}, title=f"brainnet evaluate {args.model}")
        )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from brainnet.core.dataset import LabelSpec
    from brainnet.core.files import atomic_write_text, check_writable_target
    from brainnet.core.tabular import read_table

    if args.out:
        check_writable_target(Path(args.out), force=args.force)
    model = _load_classifier(args.model)
    data = read_table(
        args.input,
        LabelSpec(),
        known_features=model.feature_names_,
        known_labels=model.label_names_,
        require_labels=False,
    )
    P = model.predict_proba(data)
    Yhat = model.predict(data)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["row", *(f"p_{name}" for name in model.label_names_), "labels"])
    for i, (p, y) in enumerate(zip(P, Yhat, strict=True), start=1):
        chosen = ";".join(name for name, on in zip(model.label_names_, y, strict=True) if on)
        writer.writerow([i, *(f"{v:.6f}" for v in p), chosen])
    if args.out:
        atomic_write_text(args.out, buf.getvalue(), force=args.force)
        _console(stderr=True).print(f"wrote {len(P)} predictions to {args.out}")
    else:
        sys.stdout.write(buf.getvalue())
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from rich.table import Table

    from brainnet.core.datasets import DATASETS

    table = Table(title="built-in datasets (standard train/test splits, shipped inside brainnet)")
    for col in ("name", "train", "test", "features", "labels", "labels/row", "description"):
        table.add_column(col, justify="right" if col not in ("name", "description") else "left")
    for name in DATASETS.names():
        d = DATASETS.get(name)
        table.add_row(
            name,
            str(d.n_train),
            str(d.n_test),
            str(d.n_features),
            str(d.n_labels),
            f"{d.cardinality:.3f}",
            d.description,
        )
    _console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``brainnet`` command line: train, evaluate, predict, export, serve, tune, report, datasets.

Thin by design: parse arguments, call the library, write files, and turn user mistakes
(``UserInputError``, unreadable files) into one clear message on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from brainnet import __version__
from brainnet.cli.export import add_export_parser, add_runtime_option
from brainnet.cli.options import (
    add_config_options,
    add_data_options,
    config_from_args,
    label_spec_from_args,
    manifest_options_from_args,
)
from brainnet.core.errors import UserInputError

EXIT_USER_ERROR = 2
ENGINES = ("torch", "scratch")
# (kind of data, engine) -> (module, preset of the one estimator)
ESTIMATORS = {
    ("table", "torch"): ("brainnet.pipeline.estimator", "MultiLabelMLP"),
    ("table", "scratch"): ("brainnet.scratch.estimator", "ScratchMultiLabelMLP"),
    ("images", "torch"): ("brainnet.pipeline.image_estimator", "MultiLabelImageClassifier"),
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
        help="a CSV/ARFF table, an image manifest CSV (a path column), a folder of class sub-folders, "
        "or a built-in dataset name (see `brainnet datasets`)",
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
        "--resume",
        action="store_true",
        help="continue a killed run from MODEL_DIR.checkpoint, exactly where it stopped (give the same "
        "data and options); SIGTERM writes that checkpoint and exits 143",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the test (else validation) metrics as one JSON object",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="torch",
        help="torch: PyTorch (default; uses a GPU when present); scratch: the same MLP on the "
        "hand-written NumPy engine (brainnet.scratch; tables only)",
    )
    p.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="train on N processes of this machine (torchrun with DistributedDataParallel: gloo on the "
        "CPU, NCCL with one GPU each); several machines: see README 'Multi-process training'",
    )
    p.add_argument(
        "--baselines",
        nargs="?",
        const="all",
        metavar="NAMES",
        help="tables: also fit scikit-learn baselines on the same folds with the same threshold rule and "
        "print their validation (and test) metrics beside brainnet's, saved as 'baselines' in brainnet.json; "
        "all five, or a comma list of: mlp (MLPClassifier), logistic (one-vs-rest LogisticRegression), "
        "rf (RandomForest, 500 trees), et (ExtraTrees, 500 trees), hgb (HistGradientBoosting per label)",
    )
    add_data_options(p)
    add_config_options(p)
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("evaluate", help="the metric suite of a saved model on labelled data")
    p.add_argument("model", metavar="MODEL_DIR")
    p.add_argument(
        "data",
        metavar="DATA",
        help="a table, an image manifest or folder, or a built-in name (its test split)",
    )
    p.add_argument(
        "--split",
        choices=("train", "val", "test", "all"),
        help="which rows to score: a built-in's split (default test), or a manifest's split column "
        "(default: its test rows when it has some, else all rows)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_runtime_option(p)
    add_data_options(p)
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser(
        "predict", help="per-label probabilities and label sets for new rows or images"
    )
    p.add_argument("model", metavar="MODEL_DIR")
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="tables: one CSV whose header holds the model's feature names; images: image files, "
        "folders (searched recursively) or a manifest CSV",
    )
    p.add_argument(
        "--out", metavar="FILE", help="write the predictions here (default: standard output)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        help="output format (default: a table for images on the terminal, else csv; .json --out: json)",
    )
    p.add_argument(
        "--top-k",
        type=int,
        metavar="K",
        help="images: also list the K most probable labels of each image",
    )
    add_runtime_option(p)
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser(
        "report",
        help="one self-contained HTML page of plots and tables: a saved model on labelled data",
    )
    p.add_argument("model", metavar="MODEL_DIR")
    p.add_argument(
        "data",
        metavar="DATA",
        help="labelled data read as by evaluate: a table, an image manifest or folder, or a built-in name "
        "(its test split, shown beside the published results when there are some)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the .html file to write")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument(
        "--split",
        choices=("train", "val", "test", "all"),
        help="which rows to report on, as for evaluate (default: a built-in's test split)",
    )
    p.add_argument(
        "--max-labels",
        type=int,
        default=20,
        metavar="K",
        help="per-label plots show the K labels with the most support (default 20); tables list all",
    )
    add_data_options(p)
    p.set_defaults(run=cmd_report)

    from brainnet.cli.tune import add_tune_parser

    add_tune_parser(sub, ENGINES)
    add_export_parser(sub)
    add_serve_parser(sub)

    p = sub.add_parser("datasets", help="list the built-in datasets")
    p.set_defaults(run=cmd_datasets)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv, args.rank = argv, 0  # the command as given (what --nproc runs on every process)
    try:
        return args.run(args) or 0
    except (UserInputError, FloatingPointError) as e:  # FloatingPointError: a diverging run
        if args.rank == 0:  # under torchrun every process meets the same mistake; rank 0 says it
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


def _is_images(data: str, args: argparse.Namespace) -> bool:
    """Image data: a built-in image dataset, a folder, or a manifest with an image path column."""
    from brainnet.core.data.builtin_images import IMAGE_DATASETS
    from brainnet.core.data.images import is_image_source

    return data in IMAGE_DATASETS or is_image_source(data, getattr(args, "path_column", None))


def _read_images(source: str, args: argparse.Namespace, split: str, remembered: dict | None = None):
    """An ImageSet from a built-in name (its ``split``), a folder or a manifest (the reading options given,
    else ``remembered`` ones where they fit the file: how the model's training manifest was read)."""
    from brainnet.core.data.builtin_images import IMAGE_DATASETS, load_image_dataset
    from brainnet.core.data.images import read_images

    if source in IMAGE_DATASETS:
        return load_image_dataset(source, split)
    return read_images(source, remembered=remembered, **manifest_options_from_args(args))


def _estimator_class(kind: str, engine: str):
    if (kind, engine) not in ESTIMATORS:
        engines = [e for k, e in ESTIMATORS if k == kind]
        raise UserInputError(
            f"--engine {engine} does not train {kind}; engines for {kind}: {', '.join(engines)}."
        )
    module, name = ESTIMATORS[(kind, engine)]
    return getattr(importlib.import_module(module), name)


def cmd_train(args: argparse.Namespace) -> int:
    from brainnet.core.files import check_writable_target

    kind = "images" if _is_images(args.data, args) else "table"
    estimator = _estimator_class(kind, args.engine)
    _check_baselines(args, kind)
    read = _training_images if kind == "images" else _training_table
    preset, published = _builtin_extras(args.data, kind, args)
    config = config_from_args(args, "images" if kind == "images" else "tables", preset)
    check_writable_target(Path(args.out), force=args.force, what="model directory")
    _check_checkpoint(Path(args.out), args)
    if args.nproc is not None or "WORLD_SIZE" in os.environ:
        if args.resume:
            raise UserInputError(
                "--resume continues a single-process run; it cannot be combined with --nproc or torchrun "
                "yet. Resume without --nproc (the checkpoint holds the whole model), or start afresh."
            )
        launched = _multi_process(args, config)
        if launched is not None:
            return launched
    if args.rank:  # another process trains with rank 0, which alone prints and saves
        with open(os.devnull, "w") as quiet, redirect_stdout(quiet), redirect_stderr(quiet):
            train, _, fit_options = read(args)
            estimator.from_config(config).fit(train, **fit_options)
        return 0
    train, test, fit_options = read(args)
    model = estimator.from_config(config)
    return _fit_and_report(args, model, train, test, published, **fit_options)


def _check_baselines(args: argparse.Namespace, kind: str) -> None:
    """--baselines: known names, tables only (checked before any data is read)."""
    if args.baselines is None:
        return
    if kind != "table":
        raise UserInputError(
            f"--baselines compares scikit-learn models on tables; {args.data!r} is image data. "
            "Drop --baselines."
        )
    from brainnet.core.baselines import baseline_names

    args.baselines = baseline_names(args.baselines)


def _run_baselines(args, model, train, test, **fit_options) -> None:
    """--baselines: fit them on brainnet's folds, keep the comparison in ``model.baselines_`` (brainnet.json)."""
    from brainnet.core.baselines import compare

    err = _console(stderr=True)

    def done(name: str, record: dict) -> None:
        err.print(f"baseline {name} ({record['title']}): {record['fit_seconds']:.1f} s")

    err.print(f"fitting baselines {', '.join(args.baselines)} on brainnet's validation rows")
    model.baselines_ = compare(
        train, baselines=args.baselines, estimator=model, test=test, progress=done, **fit_options
    )


def _multi_process(args: argparse.Namespace, config) -> int | None:
    """`--nproc N` in a plain process: run this command on N processes through torchrun and return their
    exit code (None for N = 1: train here). Under torchrun: check the run can be shared, set ``args.rank``
    and return None (this process trains)."""
    nproc = args.nproc
    if nproc is not None and nproc < 1:
        raise UserInputError(
            f"--nproc must be a number of processes >= 1; received {nproc}. Use --nproc 2 for two."
        )
    from brainnet.pipeline import distributed

    if distributed.launched():
        args.rank = distributed.rank()  # set first: rank 0 alone prints the errors below
    if (distributed.launched() or (nproc or 1) > 1) and args.engine != "torch":
        raise UserInputError(
            f"--engine {args.engine} trains in one process; multi-process training (--nproc, torchrun) "
            "needs --engine torch."
        )
    if distributed.launched():
        local = int(os.environ.get("LOCAL_WORLD_SIZE", distributed.world_size()))
        if nproc is not None and nproc != local:
            raise UserInputError(
                f"--nproc {nproc} given to a process that torchrun started as one of {local}; drop "
                "--nproc when you launch with torchrun (its --nproc-per-node sets the count)."
            )
        return None
    if nproc is None or nproc == 1:
        return None
    distributed.check_launch(nproc, config.device)
    return distributed.launch(nproc, args.argv)


def _builtin_extras(data: str, kind: str, args: argparse.Namespace):
    """(training preset, best published metrics) of a built-in dataset; (None, None) otherwise."""
    from brainnet.core.data.builtin_images import IMAGE_DATASETS
    from brainnet.core.data.builtin_tables import DATASETS

    if kind == "images":
        return (IMAGE_DATASETS.get(data).preset if data in IMAGE_DATASETS else None), None
    published = DATASETS.get(data).published if data in DATASETS and args.test is None else None
    return None, published


def _training_table(args: argparse.Namespace):
    """(train, test or None, fit options) for a table: its test split for built-ins, else --test."""
    from brainnet.cli.report import data_summary, print_notes
    from brainnet.core.data.builtin_tables import DATASETS
    from brainnet.core.data.table import read_table

    spec = label_spec_from_args(args)
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
    err = _console(stderr=True)
    for data in (train, test):
        if data is not None:
            err.print(data_summary(data))
    print_notes(err, train.notes + (test.notes if test else []))
    return train, test, {"label_spec": spec}


def _training_images(args: argparse.Namespace):
    """(train, test or None, fit options) for images: a built-in's test split, --test, or the test rows of
    the data's own split column."""
    from brainnet.core.data.builtin_images import IMAGE_DATASETS

    train = _read_images(args.data, args, "train")
    test = None
    if args.test is not None:
        test = _read_images(args.test, args, "test", train.source)
    elif args.data in IMAGE_DATASETS:
        test = _read_images(args.data, args, "test")
    elif train.split is not None and len(train.split_indices("test")):
        test = train.subset(train.split_indices("test"))
    err = _console(stderr=True)
    err.print(train.describe())
    if test is not None:
        err.print(f"test: {len(test)} images")
    return train, test, {}


def _fit_and_report(args, model, train, test, published=None, **fit_options) -> int:
    """Fit with a checkpoint beside --out, save, print the notes, the summary and the metric tables."""
    from brainnet.cli.report import metrics_table, print_notes, training_summary
    from brainnet.core.resume import Terminated

    out = Path(args.out)
    checkpoint = _checkpoint_path(out)
    resume = bool(getattr(args, "resume", False))
    try:
        model.fit(
            train, verbose=not args.quiet, checkpoint=checkpoint, resume=resume, **fit_options
        )
    except Terminated as stop:
        print(
            f"terminated (SIGTERM): the run so far is in {str(checkpoint)!r}; continue it with the "
            "same command and --resume",
            file=sys.stderr,
        )
        return int(stop.code)
    if getattr(args, "baselines", None):
        _run_baselines(args, model, train, test, **fit_options)
    model.save(out, force=args.force)
    _remove_checkpoint(checkpoint)
    err = _console(stderr=True)
    print_notes(err, model.notes_)
    err.print(training_summary(model, out))
    columns = {"validation": model.val_metrics_}
    if test is not None:
        columns["test"] = _evaluate(model, test)
    if args.json:
        print(json.dumps(columns.get("test", model.val_metrics_)))
        return 0
    title = f"brainnet train {args.data}"
    _console().print(metrics_table(columns, published=published, title=title))
    if getattr(model, "baselines_", None):
        from brainnet.cli.report import baselines_table

        for split in ("validation", "test"):
            if split == "validation" or test is not None:
                _console().print(baselines_table(model.baselines_, split))
    return 0


def _checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".checkpoint")


def _check_checkpoint(out: Path, args: argparse.Namespace) -> None:
    """--resume needs the checkpoint of a killed run; without it a left-over checkpoint is replaced only with
    --force (it may hold hours of training)."""
    from brainnet.core.resume import find_checkpoint

    found = find_checkpoint(_checkpoint_path(out))
    if args.resume and found is None:
        raise UserInputError(
            f"nothing to resume: {str(_checkpoint_path(out))!r} does not exist (a run writes it while "
            "training and removes it when it finishes). Run without --resume to start afresh."
        )
    if not args.resume and found is not None and not args.force:
        raise UserInputError(
            f"{str(found)!r} holds the checkpoint of an unfinished run. Pass --resume to continue it, "
            "or --force to start afresh (it will be replaced)."
        )


def _remove_checkpoint(path: Path) -> None:
    import shutil

    from brainnet.core.model_dir import is_model_dir

    if is_model_dir(path):
        shutil.rmtree(path, ignore_errors=True)
    # what a kill in the middle of replacing the checkpoint left beside it (core/files.py::atomic_directory)
    # A kill may come after the ``.old`` directory was made but before the checkpoint moved into it (it is
    # empty), or while it was being removed (``replaced`` is half gone): anything holding no more than
    # ``replaced`` is ours.
    for left in path.parent.glob(f".{path.name}.*.old"):
        if left.is_dir() and {p.name for p in left.iterdir()} <= {"replaced"}:
            shutil.rmtree(left, ignore_errors=True)
    for left in path.parent.glob(f".{path.name}.*.tmp"):
        shutil.rmtree(left, ignore_errors=True)


def _load_classifier(path: str, runtime: str = "auto"):
    """A saved multi-label classifier of any engine and data; another kind of model directory is a user
    error."""
    import brainnet
    from brainnet.core.estimator import MultiLabelEstimator

    model = brainnet.load(path, runtime=runtime)
    if not isinstance(model, MultiLabelEstimator):
        raise UserInputError(
            f"{path!r} holds a {type(model).__name__}, not a multi-label classifier; evaluate and predict "
            "read models written by `brainnet train` (or an estimator's save)."
        )
    return model


def cmd_evaluate(args: argparse.Namespace) -> int:
    from brainnet.cli.report import metrics_table

    model = _load_classifier(args.model, args.runtime)
    if model.recipe_.kind == "images":
        data, scored = _evaluation_images(model, args)
    else:
        data, scored = _evaluation_table(model, args)
    result = _evaluate(model, data)
    if args.json:
        print(json.dumps(result))
        return 0
    _console(stderr=True).print(f"scored {scored}")
    if "activity" in result:
        from brainnet.brain.activity import describe

        _console(stderr=True).print(
            f"spiking activity: {describe(result['activity'])}", highlight=False
        )
    title = f"brainnet evaluate {args.model}"
    _console().print(metrics_table({getattr(data, "name", "") or args.data: result}, title=title))
    return 0


def _evaluate(model, data) -> dict:
    """The metric suite; for a spiking model also its ``activity`` on the data (brainnet.brain.activity)."""
    from brainnet.brain.registry import SPIKING_MODELS

    if model.config.model in SPIKING_MODELS:
        from brainnet.brain.activity import evaluate_with_activity

        return evaluate_with_activity(model, data)
    return model.evaluate(data)


def _evaluation_table(model, args: argparse.Namespace):
    from brainnet.core.data.builtin_tables import DATASETS
    from brainnet.core.data.table import read_table

    split = args.split or "test"
    if split not in ("train", "test"):
        raise UserInputError(
            f"--split {split} applies to image manifests; a built-in table has train and test splits."
        )
    spec = label_spec_from_args(args)
    if spec.is_empty() and args.data not in DATASETS:  # a built-in knows its labels
        spec = model.recipe_.label_spec
    data = read_table(
        args.data,
        spec,
        split=split,
        known_features=model.recipe_.feature_names,
        known_labels=model.label_names_,
    )
    where = f"the {split} split of {args.data}" if args.data in DATASETS else f"{args.data}"
    return data, f"{data.n_samples} rows: {where}"


def _evaluation_images(model, args: argparse.Namespace):
    from brainnet.core.data.builtin_images import IMAGE_DATASETS
    from brainnet.core.data.images import select_split

    if args.data in IMAGE_DATASETS:
        split = args.split or "test"
        if split not in ("train", "test"):
            raise UserInputError(
                f"{args.data} has train and test splits; received --split {split}."
            )
        images = _read_images(args.data, args, split)
        return images, f"the {len(images)} {split} images of {args.data}"
    images = _read_images(args.data, args, "test", model.recipe_.source)
    return select_split(images, args.split)


def cmd_report(args: argparse.Namespace) -> int:
    import time

    from brainnet.core.files import check_writable_target
    from brainnet.reporting import report

    out = Path(args.out)
    if out.is_dir():
        raise UserInputError(
            f"--out {args.out!r} is a directory; give a file name such as report.html."
        )
    check_writable_target(out, force=args.force, what="report")
    if args.max_labels < 1:
        raise UserInputError(
            f"--max-labels must be a positive number of labels; received {args.max_labels}."
        )
    start = time.perf_counter()
    model = _load_classifier(args.model)
    if model.recipe_.kind == "images":
        data, scored = _evaluation_images(model, args)
    else:
        data, scored = _evaluation_table(model, args)
    report(model, data, path=out, force=args.force, max_labels=args.max_labels)
    took = time.perf_counter() - start
    _console(stderr=True).print(f"wrote {out} ({scored}) in {took:.1f} s")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from brainnet.core.files import check_writable_target

    if args.out:
        check_writable_target(Path(args.out), force=args.force)
    if args.top_k is not None and args.top_k < 1:
        raise UserInputError(f"--top-k must be a positive number of labels; received {args.top_k}.")
    fmt = args.format or ("json" if (args.out or "").lower().endswith(".json") else None)
    if fmt == "table" and args.out:
        raise UserInputError("--format table prints to the terminal; with --out use csv or json.")
    model = _load_classifier(args.model, args.runtime)
    images = model.recipe_.kind == "images"
    inputs, names = _image_inputs(args.inputs) if images else _table_inputs(model, args.inputs)
    P, bad = model.predict_with_errors(inputs)
    err = (
        _console(stderr=True) if bad else None
    )  # rich is imported only when there is something to say
    for i, reason in bad.items():
        err.print(f"skipped {names[i]}: {reason}")
    if len(bad) == len(P):
        raise UserInputError(f"none of the {len(P)} inputs could be read (see above).")
    good = [i for i in range(len(P)) if i not in bad]
    Yhat = np.zeros(P.shape, dtype=np.uint8)  # (n, L); the readable rows get their decisions
    Yhat[good] = model.decide(P[good])
    key, fmt = (
        ("image", fmt or ("csv" if args.out else "table")) if images else ("row", fmt or "csv")
    )
    _write_predictions(args, fmt, key, names, P, Yhat, model.label_names_, bad, args.top_k)
    if err is not None:
        err.print(f"predicted {len(good)} of {len(P)} inputs; {len(bad)} could not be read")
    return 0


def _table_inputs(model, inputs: list[str]):
    """(Dataset, row names) of the one CSV a table model predicts."""
    from brainnet.core.data.labels import LabelSpec
    from brainnet.core.data.table import read_table

    if len(inputs) != 1:
        raise UserInputError(
            f"a table model predicts one CSV at a time; received {len(inputs)} inputs."
        )
    data = read_table(
        inputs[0],
        LabelSpec(),
        known_features=model.recipe_.feature_names,
        known_labels=model.label_names_,
        require_labels=False,
    )
    return data, [str(i) for i in range(1, data.n_samples + 1)]


def _image_inputs(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """(image paths, their names) from files, folders (recursive, sorted) and manifests, in the order given."""
    from brainnet.core.data.images import IMAGE_EXTENSIONS, MANIFEST_EXTENSIONS, read_manifest

    paths: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(
                p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
            )
            if not found:
                raise UserInputError(
                    f"no images in folder {str(item)!r} (looked for {', '.join(IMAGE_EXTENSIONS)})."
                )
            paths += found
        elif item.name.lower().endswith(MANIFEST_EXTENSIONS):
            paths += read_manifest(item, require_labels=False).paths
        else:
            paths.append(item)  # missing or unreadable files are reported per file
    return paths, [str(p) for p in paths]


def _write_predictions(args, fmt, key, names, P, Yhat, labels, bad=None, top_k=None) -> None:
    """Print or write one prediction per row or image: probabilities, chosen labels, top-k, errors."""
    from brainnet.core.files import atomic_write_text

    bad = bad or {}
    if fmt == "csv":
        text = _predictions_csv(key, names, P, Yhat, labels, bad, top_k)
    else:
        records = []
        for i, (name, p, y) in enumerate(zip(names, P, Yhat, strict=True)):
            rec: dict = {key: name, "labels": [n for n, on in zip(labels, y, strict=True) if on]}
            if i in bad:
                rec.update(labels=[], error=bad[i])
            else:
                rec["probabilities"] = {
                    n: round(float(v), 6) for n, v in zip(labels, p, strict=True)
                }
                if top_k:
                    order = sorted(range(len(labels)), key=lambda j: -p[j])[:top_k]  # stable
                    rec["top"] = [[labels[j], round(float(p[j]), 6)] for j in order]
            records.append(rec)
        if fmt == "table":
            _console().print(_predictions_table(records, key, top_k))
            return
        text = json.dumps(records, indent=1) + "\n"
    if args.out:
        atomic_write_text(args.out, text, force=args.force)
        _console(stderr=True).print(f"wrote {len(names)} predictions to {args.out}")
    else:
        sys.stdout.write(text)


def _predictions_csv(key, names, P, Yhat, labels, bad, top_k) -> str:
    """``_write_predictions``' CSV, formatted from the arrays' Python floats (no record per row: 2x faster)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    extra = ["top"] if top_k else []
    writer.writerow(
        [key, *(f"p_{n}" for n in labels), "labels", *extra, *(["error"] if bad else [])]
    )
    for i, (name, p, y) in enumerate(zip(names, P.tolist(), Yhat.tolist(), strict=True)):
        if i in bad:
            writer.writerow([name, *([""] * len(labels)), "", *([""] if top_k else []), bad[i]])
            continue
        # f"{v:.6f}" is f"{round(v, 6):.6f}": both round the same exact binary value
        row = [
            name,
            *(f"{v:.6f}" for v in p),
            ";".join(n for n, on in zip(labels, y, strict=True) if on),
        ]
        if top_k:
            order = sorted(range(len(labels)), key=lambda j: -p[j])[:top_k]  # stable
            row.append(";".join(f"{labels[j]}:{round(p[j], 6):.4f}" for j in order))
        writer.writerow(row + ([""] if bad else []))
    return buf.getvalue()


def _predictions_table(records: list[dict], key: str, top_k: int | None):
    from rich.table import Table

    table = Table(title="predictions (labels over their tuned thresholds)")
    table.add_column(key)
    table.add_column("labels (probability)")
    if top_k:
        table.add_column(f"top {top_k}")
    for rec in records:
        if "error" in rec:
            row = [rec[key], f"[red]unreadable: {rec['error']}[/red]"]
        else:
            probs = rec["probabilities"]
            row = [rec[key], ", ".join(f"{n} {probs[n]:.2f}" for n in rec["labels"]) or "-"]
        if top_k:
            row.append(", ".join(f"{n} {v:.2f}" for n, v in rec.get("top", [])))
        table.add_row(*row)
    return table


def _positive(text: str) -> float:
    """argparse type: a finite number > 0."""
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0; received {text!r}")
    return value


def add_serve_parser(sub) -> None:
    """``brainnet serve MODEL``: the options and their defaults come from ``brainnet.serve.limits.Limits``
    (read here without importing FastAPI)."""
    p = sub.add_parser(
        "serve", help="serve a saved model over HTTP: a JSON API and a web page (FastAPI + uvicorn)"
    )
    p.add_argument("model", metavar="MODEL_DIR", help="a model directory written by brainnet train")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument(
        "--max-body-mb", type=_positive, default=16, help="largest request body, in MB (default 16)"
    )
    p.add_argument("--max-rows", type=int, default=1000, help="tables: rows per request (1000)")
    p.add_argument("--max-files", type=int, default=16, help="images: files per request (16)")
    p.add_argument(
        "--max-megapixels",
        type=_positive,
        default=25,
        help="images: largest image (width x height), checked before decoding (default 25)",
    )
    p.add_argument(
        "--max-concurrency",
        type=int,
        default=1,
        help="inferences running at once, each in a worker thread (default 1; more helps on CPU "
        "tables and ONNX models)",
    )
    p.add_argument(
        "--max-queue",
        type=int,
        default=64,
        help="requests waiting for an inference; one more gets 503 with Retry-After (default 64)",
    )
    p.add_argument(
        "--queue-timeout",
        type=_positive,
        default=30,
        help="seconds a request waits for an inference before 503 (default 30)",
    )
    p.add_argument("--no-access-log", action="store_true", help="do not log every request")
    p.set_defaults(run=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from brainnet.serve.limits import MB, Limits
    from brainnet.serve.server import serve

    limits = Limits(
        max_body_bytes=int(args.max_body_mb * MB),
        max_rows=args.max_rows,
        max_files=args.max_files,
        max_pixels=int(args.max_megapixels * 1_000_000),
        max_concurrency=args.max_concurrency,
        max_queue=args.max_queue,
        queue_timeout=args.queue_timeout,
    )
    serve(
        args.model, host=args.host, port=args.port, limits=limits, access_log=not args.no_access_log
    )
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from rich.table import Table

    from brainnet.core.data.builtin_images import IMAGE_DATASETS
    from brainnet.core.data.builtin_tables import DATASETS

    table = Table(
        title="built-in datasets (shipped or generated inside brainnet; nothing is downloaded)"
    )
    for col in ("name", "kind", "train", "test", "inputs", "labels", "labels/row", "description"):
        table.add_column(col, justify="left" if col in ("name", "kind", "description") else "right")
    for name in DATASETS.names():
        d = DATASETS.get(name)
        table.add_row(
            name,
            "table",
            str(d.n_train),
            str(d.n_test),
            f"{d.n_features} features",
            str(d.n_labels),
            f"{d.cardinality:.3f}",
            d.description,
        )
    for name in IMAGE_DATASETS.names():
        d = IMAGE_DATASETS.get(name)
        table.add_row(
            name,
            "images",
            str(d.n_train),
            str(d.n_test),
            "x".join(map(str, d.image_size)) + " px",
            str(d.n_labels),
            f"{d.cardinality:.3f}",
            d.description,
        )
    _console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

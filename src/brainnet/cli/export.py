"""``brainnet export MODEL_DIR``: write ``model.onnx`` into a model directory, for the torch-free runtime."""

from __future__ import annotations

import argparse
import sys

from brainnet.core.errors import UserInputError

FORMATS = ("onnx",)
RUNTIMES = ("auto", "torch", "onnx")  # brainnet.core.onnx_engine.RUNTIMES (kept import-free here)
RUNTIME_HELP = (
    "who predicts: auto (default: the exported model.onnx on onnxruntime when the model directory "
    "holds one, without importing torch; else the engine that trained it), onnx or torch"
)


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write model.onnx into a model directory (predict and serve then run without torch)",
    )
    p.add_argument("model", metavar="MODEL_DIR")
    p.add_argument("--format", choices=FORMATS, default="onnx", help="the export format (onnx)")
    p.add_argument("--force", action="store_true", help="replace an existing model.onnx")
    p.set_defaults(run=cmd_export)


def add_runtime_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runtime", choices=RUNTIMES, default="auto", help=RUNTIME_HELP)


def cmd_export(args: argparse.Namespace) -> int:
    import importlib.util

    import brainnet
    from brainnet.core.estimator import MultiLabelEstimator
    from brainnet.core.model_dir import ONNX_FILE, add_onnx, onnx_record, read_model_meta

    meta = read_model_meta(args.model)  # a bad directory fails before torch is imported
    if onnx_record(meta, args.model) is not None and not args.force:
        raise UserInputError(
            f"{args.model!r} already holds {ONNX_FILE}; brainnet does not overwrite outputs. Pass --force "
            "to export it again."
        )
    if meta.get("engine") == "scratch":
        raise UserInputError(
            f"{args.model!r} was trained on the scratch engine, which already predicts with NumPy and never "
            "imports torch; it needs no export. ONNX export covers models trained on the torch engine."
        )
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("onnx") is None:
        raise UserInputError(
            "brainnet export needs PyTorch and onnx: `pip install brainnet[train]`."
        )
    model = brainnet.load(args.model, runtime="torch")
    if not isinstance(model, MultiLabelEstimator):
        raise UserInputError(
            f"{args.model!r} holds a {type(model).__name__}; export reads models written by "
            "`brainnet train` (or an estimator's save)."
        )
    from brainnet.pipeline.export import export_onnx

    blob, record = export_onnx(model)
    path = add_onnx(args.model, blob, record, force=args.force)
    print(
        f"wrote {path} ({len(blob) / 1e6:.1f} MB, opset {record['opset']}, {record['n_models']} "
        f"model(s), input {record['input']} {record['input_dtype']} {record['input_shape']}); "
        f"`brainnet predict {args.model} ...` now runs it on onnxruntime",
        file=sys.stderr,
    )
    return 0

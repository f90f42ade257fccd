"""``brainnet tune``: the command line of ``brainnet.tune`` (an Optuna study, then the best settings retrained)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from brainnet.cli.options import add_config_options, add_data_options
from brainnet.core.decision.metrics import METRIC_KEYS
from brainnet.core.errors import UserInputError


def add_tune_parser(sub: argparse._SubParsersAction, engines: tuple[str, ...]) -> None:
    p = sub.add_parser(
        "tune",
        help="search training settings with Optuna (resumable), retrain the best, save it like train",
    )
    p.add_argument("data", metavar="DATA", help="the training data, as for `brainnet train`")
    p.add_argument(
        "--trials",
        type=int,
        required=True,
        metavar="N",
        help="finished trials the study should hold; a study that has some already runs only the rest",
    )
    p.add_argument(
        "--timeout", type=float, metavar="S", help="start no trial after S seconds (then retrain)"
    )
    p.add_argument(
        "--metric",
        default="average_precision",
        metavar="{" + ",".join(METRIC_KEYS) + "}",
        help="the validation metric to optimise, measured as train measures it (out-of-fold or on the "
        "validation split; never on test data) (default: average_precision)",
    )
    p.add_argument(
        "--space",
        metavar="YAML",
        help="override the search space: `name: {low: A, high: B, log: true}`, `name: {choices: [..]}` "
        "or `name: value` (fixed); names are training options or width, depth (tables), augment (images)",
    )
    p.add_argument(
        "--storage",
        metavar="URL",
        help="an SQLAlchemy URL holding the study, shared by every process given it (default: "
        "sqlite:///MODEL_DIR.study.db beside --out)",
    )
    p.add_argument("--study-name", metavar="NAME", help="default: the name of --out")
    p.add_argument(
        "--pruner",
        choices=("median", "hyperband", "none"),
        default="median",
        help="stops trials whose per-epoch validation value falls behind (default: median)",
    )
    p.add_argument(
        "--trial-n-models",
        type=int,
        default=1,
        metavar="N",
        help="networks per trial (default 1: a stratified hold-out, fast); the best settings are retrained "
        "with the full --n-models",
    )
    p.add_argument("--test", metavar="DATA", help="held-out data for the final report only")
    p.add_argument(
        "--out", required=True, metavar="MODEL_DIR", help="where the best model is saved"
    )
    p.add_argument("--force", action="store_true", help="replace an existing model directory")
    p.add_argument("--json", action="store_true", help="print the study summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--engine", choices=engines, default="torch", help="as for `brainnet train`")
    add_data_options(p)
    add_config_options(p)
    p.set_defaults(run=cmd_tune)


def cmd_tune(args: argparse.Namespace) -> int:
    from brainnet.cli import main
    from brainnet.cli.options import DATA, config_from_args
    from brainnet.cli.report import metrics_table, print_notes
    from brainnet.pipeline.models.registry import model_for
    from brainnet.tune import tune
    from brainnet.tune.space import read_space

    if args.trials < 1:
        raise UserInputError(f"--trials must be a number of trials >= 1; received {args.trials}.")
    kind = "images" if main._is_images(args.data, args) else "table"
    estimator = main._estimator_class(kind, args.engine)
    preset, published = main._builtin_extras(args.data, kind, args)
    config_kind = "images" if kind == "images" else "tables"
    config = config_from_args(args, config_kind, preset)
    params, fixed = read_space(args.space, kind, config)  # checked before any data is read
    models = params["model"].choices if "model" in params else [fixed.get("model", config.model)]
    for name in models:
        model_for(name, DATA[config_kind])
    read = main._training_images if kind == "images" else main._training_table
    train, test, fit_options = read(args)
    result = tune(
        estimator.from_config(config),
        train,
        trials=args.trials,
        timeout=args.timeout,
        metric=args.metric,
        space=args.space,
        storage=args.storage,
        study_name=args.study_name,
        out=args.out,
        force=args.force,
        pruner=args.pruner,
        trial_n_models=args.trial_n_models,
        verbose=not args.quiet,
        data_name=str(args.data),
        **fit_options,
    )
    model, summary = result.estimator, result.summary
    err = main._console(stderr=True)
    print_notes(err, model.notes_)
    err.print(
        f"study {summary['study_name']} ({summary['storage']}): {summary['trials_done']} trials "
        f"({summary['trials_complete']} complete, {summary['trials_pruned']} pruned, "
        f"{summary['trials_failed']} failed); best {summary['metric']} {summary['best_value']:.4f} "
        f"(trial {summary['best_trial']}, {summary['trial_n_models']} network(s) per trial) with "
        f"{json.dumps(summary['best_params'])}; retrained with n_models {model.n_models} and saved "
        f"{Path(args.out)}/"
    )
    columns = {"validation": model.val_metrics_}
    if test is not None:
        columns["test"] = model.evaluate(test)
    if args.json:
        print(json.dumps({**summary, "metrics": columns}))
        return 0
    title = f"brainnet tune {args.data}"
    main._console().print(metrics_table(columns, published=published, title=title))
    return 0

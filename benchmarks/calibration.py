"""Calibration on the built-in tables: expected calibration error before and after, validation and test.

    .venv/bin/python benchmarks/calibration.py [--datasets yeast,scene] [--n-models 10] [--seed 0]

For each dataset one ``MultiLabelMLP`` with the defaults (``calibration="auto"``, what ``brainnet train DATA``
fits) is trained on the MULAN train split. The validation numbers are those the fit measured on its out-of-fold
probabilities (``calibration_.report``: before = the networks' probabilities, after = calibrated); the test
numbers score the test split with the calibration on, and with it replaced by the identity (before). The
thresholds stay as tuned on the calibrated probabilities, so the set-based metrics of "before" are not those of
a model trained with ``calibration="none"``; ECE, log-loss and the ranking metrics do not depend on thresholds.
This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="yeast,scene")
    parser.add_argument("--n-models", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from brainnet.core.data.labels import LabelSpec
    from brainnet.core.data.table import read_table
    from brainnet.core.decision.calibration import Calibration, log_loss
    from brainnet.core.decision.metrics import evaluate
    from brainnet.pipeline.estimator import MultiLabelMLP

    header = (
        "| data | method | split | log-loss before | after | ECE micro before | after | ECE macro before "
        "| after | AP before | after | fit s |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for name in args.datasets.split(","):
        train = read_table(name, LabelSpec(), split="train")
        test = read_table(
            name, LabelSpec(), split="test", known_features=train.feature_names,
            known_labels=train.label_names,
        )  # fmt: skip
        start = time.perf_counter()
        model = MultiLabelMLP(n_models=args.n_models, seed=args.seed, device="cpu").fit(train)
        seconds = time.perf_counter() - start
        cal = model.calibration_
        r = cal.report
        print(
            f"| {name} | {cal.method} | validation ({r['n_rows']} rows, out-of-fold) | "
            f"{r['log_loss_before']:.4f} | {r['log_loss_after']:.4f} | {r['ece_micro_before']:.4f} | "
            f"{r['ece_micro_after']:.4f} | {r['ece_macro_before']:.4f} | {r['ece_macro_after']:.4f} | "
            f"| | {seconds:.0f} |"
        )
        after = model.predict_proba(test)
        model.calibration_ = Calibration.identity(len(model.label_names_))
        before = model.predict_proba(test)
        model.calibration_ = cal
        m0 = evaluate(test.Y, before, model.decide(before))
        m1 = evaluate(test.Y, after, model.decide(after))
        print(
            f"| {name} | {cal.method} | test ({len(test.Y)} rows) | {log_loss(test.Y, before):.4f} | "
            f"{log_loss(test.Y, after):.4f} | {m0['ece_micro']:.4f} | {m1['ece_micro']:.4f} | "
            f"{m0['ece_macro']:.4f} | {m1['ece_macro']:.4f} | {m0['average_precision']:.4f} | "
            f"{m1['average_precision']:.4f} | |"
        )
        if "out_of_fold_log_loss" in r:
            print(f"<!-- {name}: out-of-fold log-loss per method {r['out_of_fold_log_loss']} -->")
        np.set_printoptions(precision=3)
        print(f"<!-- {name}: slopes a {np.asarray(cal.a)}; intercepts b {np.asarray(cal.b)} -->")


if __name__ == "__main__":
    main()

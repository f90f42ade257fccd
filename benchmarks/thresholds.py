"""Per-label thresholds chosen on the suite: micro-F1 of threshold settings on inner validation splits.

The thresholds come after the networks (they are tuned on out-of-fold probabilities), so every candidate here
reuses one fit per set and seed: on an 80/20 inner split of the training file (``fit_speed.inner_split``; no test
file is read), the default estimator is fitted on the 80 %, its decision layer (calibration, thresholds, the
top-1 rule) is fitted again from the same out-of-fold probabilities with each candidate's settings, and the 20 %
is scored. Average precision does not depend on the thresholds; micro-F1 and macro-F1 do.

The rule, written before the run: a candidate replaces the default when its mean validation micro-F1 is at least
``GAIN`` higher and no set's is more than ``WORST`` lower; then the highest mean wins.

    python benchmarks/thresholds.py --seeds 2 --markdown benchmarks/results/thresholds.md

This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tables import TableSpec, print_and_write, to_markdown  # noqa: E402
from depth_choice import out_of_fold, parse_args  # noqa: E402
from fit_speed import fit_brainnet, inner_split, read  # noqa: E402

# written before the run; "default" is the config's defaults (threshold_shrinkage 10, min_positives 5)
CANDIDATES: dict[str, dict[str, Any]] = {
    "default": {},
    "shrinkage 0": {"threshold_shrinkage": 0.0},
    "shrinkage 3": {"threshold_shrinkage": 3.0},
    "shrinkage 30": {"threshold_shrinkage": 30.0},
    "shrinkage 100": {"threshold_shrinkage": 100.0},
    "min positives 2": {"min_positives": 2},
    "min positives 10": {"min_positives": 10},
}
GAIN, WORST = 0.002, 0.01


def main(argv: list[str] | None = None) -> None:
    import torch

    args = parse_args(argv, __doc__)
    torch.set_num_threads(1)
    micro: dict[str, dict[str, float]] = {c: {} for c in CANDIDATES}
    macro: dict[str, dict[str, float]] = {c: {} for c in CANDIDATES}
    for name in args.sets:
        train, _ = read(args.data, name)
        for seed in range(args.seeds):
            inner, held = inner_split(train, seed)
            model, _, _ = fit_brainnet(inner, {"seed": seed})
            oof, _ = out_of_fold(model, inner)
            for cand, options in CANDIDATES.items():
                est = copy.copy(model)
                est._decision_layer(model.config.replace(**options), inner.Y, inner.Y, oof)
                scores = est.evaluate(held)
                for table, key in ((micro, "micro_f1"), (macro, "macro_f1")):
                    table[cand][name] = table[cand].get(name, 0.0) + scores[key] / args.seeds
                print(name, seed, cand, f"micro-F1 {scores['micro_f1']:.4f}", flush=True)
    base = micro["default"]
    mean = {c: float(np.mean(list(micro[c].values()))) for c in CANDIDATES}
    better = [
        c
        for c in CANDIDATES
        if mean[c] >= mean["default"] + GAIN and all(micro[c][s] >= base[s] - WORST for s in base)
    ]
    chosen = max(better, key=mean.get, default="default")
    spec = TableSpec(
        "thresholds by inner validation: micro-F1 of the 20 % (means over seeds)",
        ["candidate", *args.sets, "mean micro-F1", "worst vs default", "mean macro-F1"],
    )
    for c in CANDIDATES:
        worst = min(micro[c][s] - base[s] for s in args.sets)
        spec.rows.append(
            [c + (" (chosen)" if c == chosen else ""), *(f"{micro[c][s]:.4f}" for s in args.sets)]
            + [f"{mean[c]:.4f}", f"{worst:+.4f}", f"{np.mean(list(macro[c].values())):.4f}"]
        )
    spec.notes.append(
        f"rule: the highest mean micro-F1 among candidates >= default's + {GAIN} with no set below "
        f"default's - {WORST}; else the default; seeds 0..{args.seeds - 1}; chosen: {chosen}"
    )
    print_and_write(to_markdown(spec), args.markdown)


if __name__ == "__main__":
    main()

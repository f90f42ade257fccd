"""Could a fit choose its own depth? One against two hidden layers, chosen per data set by out-of-fold AP.

On 80/20 inner splits of the training files (``fit_speed.inner_split``; no test file is read), every set and seed
fits the default ensemble (one hidden layer of 256) and the same with two layers of 256. Each ensemble's members
are cross-fitted, so every training row has an out-of-fold probability from the member that did not train on it.
Rules compared, each scored by the chosen ensemble's AP on the held-out 20 %:

- ``oof all``: the depth whose out-of-fold AP over all training rows is higher;
- ``oof pilot P``: the same on the rows of the first P folds only (what a fit that trains P members of each
  depth, then the rest of the winner's, would see);
- ``mix``: the two ensembles' mean probability (20 members; no choice);
- ``best`` (an oracle, not a rule): the higher held-out AP of the two.

    python benchmarks/depth_choice.py --seeds 2 --markdown benchmarks/results/depth-choice.md

This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tables import MULAN_SETS, TableSpec, comma_list, print_and_write, to_markdown  # noqa: E402
from fit_speed import DATA, fit_brainnet, inner_split, read  # noqa: E402

SETS = ["yeast", "scene", "enron", "flags", "medical", "genbase", "tmc2007_500", "bibtex"]
DEEP = {"hidden_sizes": (256, 256)}
PILOTS = (2, 3, 5)


def out_of_fold(model: Any, train: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """(n, L) uncalibrated out-of-fold probabilities of ``train`` (the rows ``model`` was fitted on) and the
    plan's validation folds, as the fit made them."""
    from brainnet.core.estimator import fit_plan

    recipe, cfg = model.recipe_, model.config
    pool, plan, _ = fit_plan(recipe, train, None, cfg)
    pool = recipe.encode(pool)
    engine = model.engine_class()
    P = np.zeros(recipe.labels(pool).shape)
    for member, (_, va) in zip(model.models_, plan, strict=True):
        P[va] = engine.predict(member, cfg, recipe, recipe.subset(pool, va)).P
    return P, [va for _, va in plan]


def parse_args(argv: list[str] | None = None, doc: str = __doc__) -> argparse.Namespace:
    """The options of the inner-validation scripts (this one, ``thresholds.py``: ``doc`` is theirs)."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--sets", type=comma_list(MULAN_SETS, "set"), default=SETS)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--markdown", type=Path, default=None)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    import torch

    from brainnet.core.decision.metrics import average_precision

    args = parse_args(argv)
    torch.set_num_threads(1)
    rules = ["one layer (default)", "two layers", "oof all", *(f"oof pilot {p}" for p in PILOTS)]
    rules += ["mix", "best (oracle)"]
    scores: dict[str, dict[str, float]] = {r: {} for r in rules}
    picks: dict[str, list[str]] = {r: [] for r in rules if r.startswith("oof")}
    cpu = {"one": 0.0, "two": 0.0}
    for name in args.sets:
        train, _ = read(args.data, name)
        for seed in range(args.seeds):
            inner, held = inner_split(train, seed)
            fits = {}
            for key, extra in (("one", {}), ("two", DEEP)):
                model, _, seconds = fit_brainnet(inner, {"seed": seed, **extra})
                cpu[key] += seconds
                oof, folds = out_of_fold(model, inner)
                P = model.predict_proba(held)
                fits[key] = (average_precision(held.Y, P), oof, folds, P)
            Y = inner.Y
            got = {"one layer (default)": fits["one"][0], "two layers": fits["two"][0]}
            got["mix"] = average_precision(held.Y, (fits["one"][3] + fits["two"][3]) / 2)
            got["best (oracle)"] = max(fits["one"][0], fits["two"][0])
            for p in (None, *PILOTS):
                rows = slice(None) if p is None else np.concatenate(fits["one"][2][:p])
                ap = {k: average_precision(Y[rows], fits[k][1][rows]) for k in fits}
                pick = "two" if ap["two"] > ap["one"] else "one"
                rule = "oof all" if p is None else f"oof pilot {p}"
                got[rule] = fits[pick][0]
                picks[rule].append(f"{name}/{seed}:{pick}")
            for rule, value in got.items():
                scores[rule][name] = scores[rule].get(name, 0.0) + value / args.seeds
            print(name, seed, {k: round(v, 4) for k, v in got.items()}, flush=True)
    spec = TableSpec(
        "depth chosen per set: held-out AP of the 80/20 inner splits (means over seeds)",
        ["rule", *args.sets, "mean", "worst vs default"],
    )
    base = scores["one layer (default)"]
    for rule in rules:
        by_set = scores[rule]
        worst = min(by_set[s] - base[s] for s in args.sets)
        spec.rows.append(
            [
                rule,
                *(f"{by_set[s]:.4f}" for s in args.sets),
                f"{np.mean(list(by_set.values())):.4f}",
            ]
            + [f"{worst:+.4f}"]
        )
    spec.notes.append(
        f"CPU s over all fits: one layer {cpu['one']:.0f}, two layers {cpu['two']:.0f}"
    )
    for rule, chosen in picks.items():
        spec.notes.append(f"{rule} picked: {', '.join(chosen)}")
    text = to_markdown(spec)
    print_and_write(text, args.markdown)


if __name__ == "__main__":
    main()

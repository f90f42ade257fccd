"""Could a fit choose its own depth? One against two hidden layers, chosen per data set by out-of-fold AP.

On 80/20 inner splits of the training files (``fit_speed.inner_split``; no test file is read), every set and seed
fits the default ensemble (one hidden layer of 256) and the same with two layers of 256. Each ensemble's members
are cross-fitted, so every training row has an out-of-fold probability from the member that did not train on it.
Rules compared, each scored by the chosen ensemble's AP on the held-out 20 %:

- ``oof all``: the depth whose out-of-fold AP over all training rows is higher;
- ``oof pilot P``: the same on the rows of the first P folds only (what a fit that trains P members of each
  depth, then the rest of the winner's, would see);
- ``mix``: the two ensembles' mean probability (20 members; no choice);
- ``best`` (an oracle, not a rule): the higher held-out AP of the two;
- ``oof pilot 3, margin M`` (``--margins``; round 14, written before it ran): two layers only where their
  out-of-fold AP on the first 3 folds is more than M above one layer's, so that a set where the deeper network
  wins by noise keeps the cheaper one. Judged by the speed rule of ``fit_speed.py`` against ``oof pilot 3`` (the
  package's rule, M = 0): the least estimated CPU among the margins whose mean held-out AP is at most
  ``TOLERANCE`` below its and no set more than ``WORST`` below it. The CPU a rule would cost is estimated as the
  package's trial spends it: 3 tenths of each depth's fit, then 7 tenths of the chosen depth's.

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
from fit_speed import DATA, TOLERANCE, WORST, fit_brainnet, inner_split, read  # noqa: E402

SETS = ["yeast", "scene", "enron", "flags", "medical", "genbase", "tmc2007_500", "bibtex"]
ONE = {"try_deeper": 0}  # the package's own trial off: each fit is one depth
DEEP = {"try_deeper": 0, "hidden_sizes": (256, 256)}
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
    p.add_argument(
        "--margins",
        type=lambda v: [float(m) for m in v.split(",")],
        default=[],
        help="comma-separated out-of-fold AP margins for 'oof pilot 3, margin M' (round 14)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    import torch

    from brainnet.core.decision.metrics import average_precision

    args = parse_args(argv)
    torch.set_num_threads(1)
    rules = ["one layer (default)", "two layers", "oof all", *(f"oof pilot {p}" for p in PILOTS)]
    margins = getattr(args, "margins", [])
    rules += [f"oof pilot 3, margin {m:g}" for m in margins]
    rules += ["mix", "best (oracle)"]
    trial_cpu = {r: 0.0 for r in rules if r.startswith("oof pilot 3")}
    scores: dict[str, dict[str, float]] = {r: {} for r in rules}
    picks: dict[str, list[str]] = {r: [] for r in rules if r.startswith("oof")}
    cpu = {"one": 0.0, "two": 0.0}
    for name in args.sets:
        train, _ = read(args.data, name)
        for seed in range(args.seeds):
            inner, held = inner_split(train, seed)
            fits = {}
            seconds_of = {}
            for key, extra in (("one", ONE), ("two", DEEP)):
                model, _, seconds = fit_brainnet(inner, {"seed": seed, **extra})
                cpu[key] += seconds
                seconds_of[key] = seconds
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
                if p == 3:
                    print(
                        name,
                        seed,
                        "pilot 3 out-of-fold AP",
                        {k: round(v, 5) for k, v in ap.items()},
                    )
                    for m in [0.0, *margins]:
                        r = rule if m == 0.0 else f"{rule}, margin {m:g}"
                        choice = "two" if ap["two"] > ap["one"] + m else "one"
                        got[r] = fits[choice][0]
                        if m:
                            picks[r].append(f"{name}/{seed}:{choice}")
                        trial_cpu[r] += 0.3 * (seconds_of["one"] + seconds_of["two"])
                        trial_cpu[r] += 0.7 * seconds_of[choice]
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
    if margins:
        spec.notes.append(
            "estimated trial CPU s: "
            + ", ".join(f"{r} {seconds:.0f}" for r, seconds in trial_cpu.items())
        )
        spec.notes.append(
            f"speed rule against oof pilot 3: chosen {choose_margin(scores, trial_cpu, args.sets)}"
        )
    text = to_markdown(spec)
    print_and_write(text, args.markdown)


def choose_margin(
    scores: dict[str, dict[str, float]], trial_cpu: dict[str, float], sets: list[str]
) -> str:
    """The speed rule (``fit_speed.py``'s) among ``oof pilot 3`` and its margins: the least CPU whose mean
    held-out AP is at most TOLERANCE below the margin-0 rule's and no set more than WORST below it."""
    base = scores["oof pilot 3"]
    mean0 = np.mean([base[s] for s in sets])
    ok = [
        r
        for r in trial_cpu
        if np.mean([scores[r][s] for s in sets]) >= mean0 - TOLERANCE
        and all(scores[r][s] >= base[s] - WORST for s in sets)
    ]
    return min(ok, key=lambda r: trial_cpu[r])


if __name__ == "__main__":
    main()

"""Why scikit-learn's MLPClassifier scores AP 0.09 on delicious in the suite: a scoring bug, or the model?

On the first ``--rows`` training rows of delicious (raw 0/1 features): the MLP's test AP by brainnet's metric and
by scikit-learn's ``label_ranking_average_precision_score`` on the same probabilities, beside ranking every row's
labels by their training frequencies; then how well its mean predicted probability per label follows the labels'
frequencies after 20 epochs, learning the 50, 300 or all most frequent labels.

    python benchmarks/delicious_mlp.py          # about 2 minutes on 2 cores

This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_speed import DATA, read  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    from sklearn.metrics import label_ranking_average_precision_score
    from sklearn.neural_network import MLPClassifier

    from brainnet.core.decision.metrics import average_precision

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--rows", type=int, default=4000)
    p.add_argument("--test-rows", type=int, default=2000)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")  # the MLP's convergence warnings
    train, test = read(args.data, "delicious")
    X, Y = train.X[: args.rows].toarray(), train.Y[: args.rows]
    Xt, Yt = test.X[: args.test_rows].toarray(), test.Y[: args.test_rows]
    varying = np.flatnonzero(Y.min(0) != Y.max(0))
    labelled = Yt.sum(1) > 0
    prior = np.tile(Y.mean(0), (len(Yt), 1))
    print(f"training frequencies: test AP {average_precision(Yt, prior):.4f}")
    for epochs in (20, 200):
        model = MLPClassifier((100,), random_state=0, max_iter=epochs).fit(X, Y[:, varying])
        P = np.zeros(Yt.shape)
        P[:, varying] = model.predict_proba(Xt)
        ours = average_precision(Yt, P)
        theirs = label_ranking_average_precision_score(Yt[labelled], P[labelled])
        print(
            f"MLPClassifier, {epochs} epochs: test AP {ours:.4f} (scikit-learn's LRAP {theirs:.4f}); "
            f"training loss {model.loss_:.1f}"
        )
    order = np.argsort(-Y.mean(0))
    for k in (50, 300, len(varying)):
        cols = order[:k]
        model = MLPClassifier((100,), random_state=0, max_iter=20).fit(X, Y[:, cols])
        corr = np.corrcoef(model.predict_proba(X).mean(0), Y[:, cols].mean(0))[0, 1]
        print(
            f"{k} most frequent labels, 20 epochs: mean probability vs frequency, correlation {corr:.3f}"
        )


if __name__ == "__main__":
    main()

import numpy as np
import pytest


@pytest.fixture(scope="session")
def toy_data():
    """A small learnable multi-label problem: 300 rows, 12 features, 4 labels (deterministic)."""
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(
        n_samples=300, n_features=12, n_classes=4, n_labels=2, random_state=0, allow_unlabeled=False
    )
    return X.astype(np.float64), Y.astype(np.uint8)


FAST = {
    "n_models": 1,
    "hidden_sizes": (32,),
    "epochs": 15,
    "patience": 5,
    "batch_size": 32,
    "lr": 3e-3,
}

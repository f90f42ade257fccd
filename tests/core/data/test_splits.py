import itertools

import numpy as np
import pytest

from brainnet.core.data.splits import multilabel_split, random_split
from brainnet.core.errors import UserInputError


def _correlated_labels(n=600, L=8, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.random((n, 3))
    mix = rng.random((3, L))
    logits = base @ mix * 3 - 2.5 + rng.normal(0, 0.5, (n, L))
    return (logits > 0).astype(np.uint8)


def _deviation(Y, idx):
    """Mean absolute gap of label and label-pair frequencies between a part and the whole."""
    pairs = list(itertools.combinations(range(Y.shape[1]), 2))
    full = np.r_[Y.mean(0), [np.mean(Y[:, a] & Y[:, b]) for a, b in pairs]]
    part = np.r_[Y[idx].mean(0), [np.mean(Y[idx, a] & Y[idx, b]) for a, b in pairs]]
    return np.abs(full - part).mean()


def test_stratified_split_keeps_label_and_pair_proportions_better_than_random():
    Y = _correlated_labels()
    strat = [_deviation(Y, multilabel_split(Y, 0.2, s)[1]) for s in range(10)]
    rand = [_deviation(Y, random_split(len(Y), 0.2, s)[1]) for s in range(10)]
    assert np.mean(strat) < 0.6 * np.mean(rand), (np.mean(strat), np.mean(rand))


def test_split_is_seeded_disjoint_and_complete():
    Y = _correlated_labels(n=200)
    tr, va = multilabel_split(Y, 0.25, seed=3)
    tr2, va2 = multilabel_split(Y, 0.25, seed=3)
    np.testing.assert_array_equal(va, va2)
    assert len(va) == 50 and not set(tr) & set(va) and len(tr) + len(va) == 200
    assert not np.array_equal(va, multilabel_split(Y, 0.25, seed=4)[1])


def test_too_few_rows_is_a_clear_error():
    with pytest.raises(UserInputError, match="both parts need at least one row"):
        multilabel_split(np.ones((2, 1), dtype=np.uint8), 0.1, 0)


def test_kfold_partitions_the_rows_and_is_stratified():
    from brainnet.core.data.splits import multilabel_kfold

    Y = _correlated_labels(n=500)
    folds = multilabel_kfold(Y, 5, seed=0)
    vals = np.concatenate([va for _, va in folds])
    assert sorted(vals.tolist()) == list(range(500))
    for tr, va in folds:
        assert not set(tr) & set(va) and len(tr) + len(va) == 500
    strat = np.mean([_deviation(Y, va) for _, va in folds])
    rand = np.mean([_deviation(Y, va) for _, va in (random_split(500, 0.2, s) for s in range(5))])
    assert strat < rand
    np.testing.assert_array_equal(folds[0][1], multilabel_kfold(Y, 5, seed=0)[0][1])
    with pytest.raises(UserInputError, match="cannot make 1 folds"):
        multilabel_kfold(Y, 1, 0)

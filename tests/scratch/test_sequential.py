import numpy as np

from brainnet.scratch import Dense, Dropout, Flatten, Sequential, Softmax


def _model():
    return Sequential(
        [
            Flatten(),
            Dense(4, "relu", rng=0, dtype=np.float64),
            Dense(3, rng=1, dtype=np.float64),
            Softmax(),
        ]
    )


def test_forward_and_backward_equal_manual_chaining():
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 3))
    model, manual = _model(), _model()
    y = model(x)
    dx = model.backward(g)

    h = x
    for layer in manual.layers:
        h = layer(h)
    d = g
    for layer in reversed(manual.layers):
        d = layer.backward(d)
    np.testing.assert_array_equal(y, h)
    np.testing.assert_array_equal(dx, d)
    for p, q in zip(model.parameters(), manual.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad)
    assert dx.shape == x.shape


def test_parameters_and_train_eval_reach_the_layers():
    model = Sequential([Dense(4, in_features=3), Dropout(0.5), Dense(2, in_features=4)])
    assert len(model.parameters()) == 4
    model.eval()
    assert not model.layers[1].training


def test_summary_lists_layers_shapes_and_counts():
    model = _model()
    assert "?" in model.summary()
    model(np.ones((5, 2, 3)))
    text = model.summary()
    for expected in ["Flatten()", "Dense(4, activation='relu')", "(5, 6)", "(5, 4)", "28", "15"]:
        assert expected in text
    assert "Total params: 43" in text

"""Backpropagation by hand: a scratch Dense network, MSE and SGD in a loop you can read."""

import numpy as np

from brainnet.scratch import Dense, Sequential
from brainnet.scratch.losses import MSE
from brainnet.scratch.optimizers import SGD


def main(steps: int = 300) -> dict:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(128, 2))  # (128, 2)
    y = (1.5 * X[:, :1] - 0.5 * X[:, 1:] + 0.2).astype(np.float64)  # (128, 1)
    model = Sequential(
        [
            Dense(8, "tanh", rng=0, dtype=np.float64, in_features=2),
            Dense(1, rng=1, dtype=np.float64),
        ]
    )
    loss_fn, opt = MSE(), SGD(model.parameters(), lr=0.1)
    losses = []
    for step in range(steps):
        opt.zero_grad()
        pred = model.forward(X)  # forward: (128, 1)
        losses.append(loss_fn(pred, y))  # loss
        model.backward(loss_fn.backward())  # backward: fills every Parameter.grad
        opt.step()  # gradient descent
        if step % 50 == 0:
            print(f"step {step:3d}  loss {losses[-1]:.6f}")
    print(f"first loss {losses[0]:.6f}, last loss {losses[-1]:.6f}")
    return {"first_loss": losses[0], "last_loss": losses[-1]}


if __name__ == "__main__":
    main()

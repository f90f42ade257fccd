"""The 2-10-10-1 network (relu, relu, linear; Adam 1e-3; MSE; MAE) in NumPy and in PyTorch, side by side.

Both start from the same weights and see the same batches (the per-epoch permutations are drawn once with
NumPy and fed to both), in float64; their per-epoch loss curves agree to rounding.
"""

import numpy as np

from brainnet.scratch import Dense, Sequential


def make_data(n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(n, 2))  # (n, 2)
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.normal(size=n)
    return X, y[:, None]  # (n, 1)


def train_numpy(model, X, y, perms, batch_size):
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    curve = []
    for epoch, perm in enumerate(perms):
        logs = model.fit(X[perm], y[perm], epochs=1, batch_size=batch_size, shuffle=False).history
        curve.append(logs["loss"][0])
        if epoch % 20 == 0:
            print(f"numpy epoch {epoch:3d}  loss {curve[-1]:.6f}  mae {logs['mae'][0]:.6f}")
    return curve


def train_torch(model, X, y, perms, batch_size):
    import torch

    opt, loss_fn = torch.optim.Adam(model.parameters(), lr=1e-3), torch.nn.MSELoss()
    Xt, yt, curve = torch.from_numpy(X), torch.from_numpy(y), []
    for epoch, perm in enumerate(perms):
        total = 0.0
        for i in range(0, len(perm), batch_size):
            idx = torch.from_numpy(perm[i : i + batch_size])
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        curve.append(total / len(perm))
        if epoch % 20 == 0:
            print(f"torch epoch {epoch:3d}  loss {curve[-1]:.6f}")
    return curve


def torch_copy(model):
    import torch

    dense = [layer for layer in model.layers]
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 10),
        torch.nn.ReLU(),
        torch.nn.Linear(10, 10),
        torch.nn.ReLU(),
        torch.nn.Linear(10, 1),
    ).double()
    with torch.no_grad():
        for lin, layer in zip(net[::2], dense, strict=True):
            lin.weight.copy_(torch.from_numpy(layer.weight.value.T))  # torch stores (out, in)
            lin.bias.copy_(torch.from_numpy(layer.bias.value))
    return net


def main(epochs: int = 100, batch_size: int = 32) -> dict:
    X, y = make_data()
    kw = {"dtype": np.float64}
    model = Sequential(
        [
            Dense(10, "relu", rng=0, in_features=2, **kw),
            Dense(10, "relu", rng=1, in_features=10, **kw),
            Dense(1, rng=2, in_features=10, **kw),
        ]
    )
    net = torch_copy(model)  # same initial weights, before any step
    rng = np.random.default_rng(1)
    perms = [rng.permutation(len(X)) for _ in range(epochs)]  # the same batch order for both
    numpy_curve = train_numpy(model, X, y, perms, batch_size)
    torch_curve = train_torch(net, X, y, perms, batch_size)
    gap = max(abs(a - b) / abs(b) for a, b in zip(numpy_curve, torch_curve, strict=True))
    print(
        f"final loss numpy {numpy_curve[-1]:.6f}, torch {torch_curve[-1]:.6f}; max relative gap {gap:.2e}"
    )
    return {"numpy_loss": numpy_curve, "torch_loss": torch_curve, "max_relative_gap": gap}


if __name__ == "__main__":
    main()

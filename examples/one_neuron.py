"""One neuron, step by step: y = relu(sum_i w_i x_i + b)."""

import numpy as np


def main() -> dict:
    x = np.array([1.0, 2.0, 3.0])
    w = np.array([0.2, -0.5, 0.4])
    b = 0.1
    print(f"inputs  x = {x}")
    print(f"weights w = {w}")
    print(f"bias    b = {b}")
    products = x * w
    print(f"products x_i * w_i = {products}")
    z = float(products.sum() + b)
    print(f"weighted sum z = sum + b = {z:.4f}")
    y = max(z, 0.0)
    print(f"output y = relu(z) = {y:.4f}")
    return {"inputs": x, "weights": w, "bias": b, "z": z, "output": y}


if __name__ == "__main__":
    main()

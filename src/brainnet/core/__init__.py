"""The shared vocabulary of brainnet, NumPy only: metrics, thresholds, splits, data, model format."""

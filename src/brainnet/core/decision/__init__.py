"""The decision layer: per-label thresholds and the metric suite that judges them (NumPy only)."""

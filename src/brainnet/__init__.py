"""brainnet: neural networks from a hand-written NumPy engine to trustworthy multi-label classifiers.

Importing brainnet never imports torch: the PyTorch estimator is loaded on first use of its name.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it, imported on first access (PEP 562)
_LAZY = {
    "MultiLabelMLP": "brainnet.pipeline.estimator",
    "load": "brainnet.pipeline.estimator",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'brainnet' has no attribute {name!r}")

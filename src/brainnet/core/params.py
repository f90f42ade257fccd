"""scikit-learn's parameter protocol (``get_params``/``set_params``) without importing scikit-learn.

scikit-learn takes about a second to import (it pulls in SciPy); a model that only predicts must not pay that,
so the estimator implements the protocol itself: ``sklearn.base.clone``, ``GridSearchCV`` and pipelines work
as with ``BaseEstimator``, which is imported only when scikit-learn asks for the estimator's tags.
"""

from __future__ import annotations

from typing import Any


class ConfigParams:
    """The parameters are the fields of the class's ``config_class``, stored as attributes by ``__init__``."""

    config_class: Any

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameter name -> value (``deep`` is accepted for scikit-learn; there are no nested estimators)."""
        return {name: getattr(self, name) for name in self.config_class.field_names()}

    def set_params(self, **params: Any) -> Any:
        """Set parameters by name; an unknown name is an error, as in scikit-learn. Returns self."""
        valid = self.config_class.field_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"invalid parameter {name!r} for estimator {type(self).__name__}; valid parameters: "
                    f"{sorted(valid)}."
                )
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self) -> Any:
        from sklearn.base import BaseEstimator

        return BaseEstimator.__sklearn_tags__(self)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        defaults = self.config_class()
        changed = {
            name: value
            for name, value in self.get_params().items()
            if value != getattr(defaults, name)
        }
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

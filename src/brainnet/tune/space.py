"""Search spaces of ``brainnet tune``: which config fields a study samples, per kind of data, and from where.

A space maps a name to a ``Param``: a float or int range (``low``, ``high``, ``log``) or a list of ``choices``.
Names are config fields (``lr``, ``dropout``, ``batch_size``...) or one of three shorthands that set several
fields at once:

- ``width`` and ``depth`` (tables): ``hidden_sizes`` = ``width``, ``width/2``, ... ``depth`` layers (>= 8 units), and
  ``try_deeper`` 0 unless the space sets it (the study chose the layers; the fit's depth trial would add one);
- ``augment`` (images): augmentation strength in [0, 1]: ``rotation`` = 30 x it degrees, ``shift`` = 0.2 x it.

A YAML file (``--space``) overrides the defaults key by key: a mapping sets a range or choices, a plain value
fixes the field for every trial (so it is no longer searched). Unknown names, ranges with ``low >= high``, a log
range that touches 0, empty choices, and ranges whose ends the config refuses are clear errors before any trial.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainnet.core.errors import UserInputError

DERIVED = {"width": "table", "depth": "table", "augment": "images"}
"""Shorthand names a space may use besides config fields, and the kind of data each belongs to."""

# the image networks small enough to train from scratch on a CPU inside a trial; others through --space
LIGHT_IMAGE_MODELS = ("seed_cnn", "mobilenet_v3_small", "resnet18")
# fields a trial never samples: they decide the data, the run or the decision layer, not the network
NOT_SEARCHED = {"seed", "device", "val_fraction", "workers", "cache", "strict", "pretrained"}


@dataclass(frozen=True)
class Param:
    """One searched name: ``choices`` (categorical) or a ``low``..``high`` range (int or float, ``log`` scale)."""

    kind: str  # "float", "int" or "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, "log": self.log}

    def ends(self) -> list[Any]:
        """The values that bound this parameter (every choice, or both ends of the range)."""
        return list(self.choices) if self.kind == "categorical" else [self.low, self.high]


def default_space(kind: str, base: Any) -> dict[str, Param]:
    """The space a study searches when no YAML overrides it.

    Args:
        kind: "table" or "images".
        base: the config every trial starts from (its image size sets the image-size choices).

    Returns:
        {name: Param}: tables: width, depth, dropout, lr, weight_decay, batch_size, pos_weight; images: model,
        image_size, lr, augment.
    """
    if kind == "table":
        return {
            "width": Param("int", 32, 1024, log=True),
            "depth": Param("int", 1, 3),
            "dropout": Param("float", 0.0, 0.6),
            "lr": Param("float", 1e-4, 1e-2, log=True),
            "weight_decay": Param("float", 1e-5, 1e-1, log=True),
            "batch_size": Param("categorical", choices=(32, 64, 128, 256)),
            "pos_weight": Param("categorical", choices=("none", "auto")),
        }
    size = max(32, int(base.image_size))  # 32: the smallest size every light model accepts
    smaller = max(32, (size * 3 // 4) // 8 * 8)
    models = (base.model, *(m for m in LIGHT_IMAGE_MODELS if m != base.model))
    return {
        "model": Param("categorical", choices=models),
        "image_size": Param("categorical", choices=tuple(sorted({smaller, size}))),
        "lr": Param("float", 1e-4, 1e-2, log=True),
        "augment": Param("float", 0.0, 1.0),
    }


def config_values(values: dict[str, Any], base: Any) -> dict[str, Any]:
    """Sampled (or fixed) values -> config field overrides (``width``/``depth``/``augment`` expanded)."""
    out = {k: v for k, v in values.items() if k not in DERIVED}
    if "width" in values or "depth" in values:
        width = int(values.get("width", base.hidden_sizes[0] if base.hidden_sizes else 64))
        depth = int(values.get("depth", len(base.hidden_sizes)))
        out["hidden_sizes"] = tuple(max(width // 2**i, 8) for i in range(depth))
        # the study chose the layers: the fit's own depth trial would add one to them (unless fixed in the space)
        out.setdefault("try_deeper", 0)
    if "augment" in values:
        strength = float(values["augment"])
        out["rotation"], out["shift"] = round(30.0 * strength, 6), round(0.2 * strength, 6)
    return out


def _param(name: str, spec: Any, hint: Any, source: str) -> Param | Any:
    """A YAML entry -> a Param (a mapping) or a fixed value (anything else)."""
    if not isinstance(spec, dict):
        return spec  # fixed for every trial
    where = f"{name!r} in {source}"
    unknown = sorted(set(spec) - {"low", "high", "log", "choices"})
    if unknown:
        raise UserInputError(
            f"{where} has unknown key(s) {unknown}; a range is {{low: A, high: B, log: true|false}} and "
            "a list is {choices: [A, B, ...]}."
        )
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices or set(spec) - {"choices"}:
            raise UserInputError(
                f"{where} must give a non-empty list of choices and nothing else; received {spec!r}."
            )
        if not all(isinstance(c, int | float | str | bool) for c in choices):
            raise UserInputError(
                f"{where}: choices must be numbers, strings or true/false; received {choices!r} (for "
                "hidden_sizes, search width and depth instead)."
            )
        return Param("categorical", choices=tuple(choices))
    low, high = spec.get("low"), spec.get("high")
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
    if not numbers:
        raise UserInputError(
            f"{where} needs numeric low and high (e.g. {{low: 0.0001, high: 0.01, log: true}}); received "
            f"{spec!r}."
        )
    if not low < high:
        raise UserInputError(f"{where}: low must be below high; received low={low}, high={high}.")
    log = spec.get("log", False)
    if not isinstance(log, bool) or (log and low <= 0):
        raise UserInputError(
            f"{where}: a log range needs low > 0 and log: true|false; received {spec!r}."
        )
    if hint is int:
        if not (float(low).is_integer() and float(high).is_integer()):
            raise UserInputError(f"{where} is an integer option; received low={low}, high={high}.")
        return Param("int", int(low), int(high), log)
    if hint is not float:
        raise UserInputError(
            f"{where}: only numeric options take a range; give {{choices: [...]}} or a fixed value."
        )
    return Param("float", float(low), float(high), log)


def read_space(
    path: str | Path | dict | None, kind: str, base: Any
) -> tuple[dict[str, Param], dict[str, Any]]:
    """The default space of ``kind`` overridden by a YAML file (or a dict): (searched params, fixed values).

    Raises:
        UserInputError: unreadable YAML, unknown names, bad ranges, or a range end the config refuses.
    """
    space: dict[str, Any] = dict(default_space(kind, base))
    source = "the search space"
    if path is not None:
        overrides = path if isinstance(path, dict) else _read_yaml(Path(path))
        source = "the search space" if isinstance(path, dict) else str(path)
        hints = typing.get_type_hints(type(base))
        names = [n for n in type(base).field_names() if n not in NOT_SEARCHED]
        names += [n for n, k in DERIVED.items() if k == kind]
        for name, spec in overrides.items():
            if name not in names:
                close = difflib.get_close_matches(str(name), names, 1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise UserInputError(
                    f"unknown name {name!r} in {source}{hint}. A {kind} space may search: "
                    f"{', '.join(sorted(names))}."
                )
            space[name] = _param(
                name,
                spec,
                int
                if name in ("width", "depth")
                else float
                if name == "augment"
                else hints.get(name),
                source,
            )
    params = {k: v for k, v in space.items() if isinstance(v, Param)}
    fixed = {k: v for k, v in space.items() if not isinstance(v, Param)}
    _check_possible(params, fixed, base, source)
    return params, fixed


def _check_possible(
    params: dict[str, Param], fixed: dict[str, Any], base: Any, source: str
) -> None:
    """Every end of every range (and every choice) with the fixed values must make a valid config."""
    if not params:
        raise UserInputError(
            f"{source} leaves nothing to search (every name is fixed); give at least one range or list."
        )
    for name, p in params.items():
        for value in p.ends():
            values = {**fixed, name: value}
            try:
                base.from_dict({**base.to_dict(), **_as_config(config_values(values, base))})
            except UserInputError as e:
                raise UserInputError(
                    f"impossible search space in {source}: {name}={value!r} is not a valid setting ({e})"
                ) from None


def _as_config(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"search space file not found: {str(path)!r}.") from None
    except yaml.YAMLError as e:
        raise UserInputError(f"search space file {str(path)!r} is not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserInputError(
            f"search space file {str(path)!r} must be a mapping of name: range; received "
            f"{type(data).__name__}."
        )
    return data


def suggest(trial: Any, params: dict[str, Param]) -> dict[str, Any]:
    """Sample every param on an Optuna trial; returns {name: value}."""
    values = {}
    for name, p in params.items():
        if p.kind == "categorical":
            values[name] = trial.suggest_categorical(name, list(p.choices))
        elif p.kind == "int":
            values[name] = trial.suggest_int(name, int(p.low), int(p.high), log=p.log)
        else:
            values[name] = trial.suggest_float(name, p.low, p.high, log=p.log)
    return values

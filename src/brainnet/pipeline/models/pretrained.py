"""``--pretrained FILE``: weights from a local file the user names, never from the network.

``.safetensors`` files are read with safetensors; ``.pt``/``.pth``/``.bin`` with
``torch.load(weights_only=True)``, which refuses pickled Python objects (no arbitrary code runs). The file may
hold a plain state dict or one nested under ``"state_dict"``, ``"model"`` or ``"model_state_dict"``; a
``"module."`` prefix (DataParallel) is stripped. Keys are matched to the model in two spellings: brainnet's own
(``backbone.conv1.weight``, ``head.weight``) and the source library's (``conv1.weight``, ``fc.weight`` for a
torchvision ResNet). A head whose shape does not fit (ImageNet's 1000 classes -> your L labels) is skipped and
stays freshly initialised: the usual transfer-learning case.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from brainnet.core.errors import UserInputError

SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
NESTED_KEYS = ("state_dict", "model", "model_state_dict")
_SHOW = 3  # how many names a message or summary lists


@dataclass
class PretrainedReport:
    """What ``load_pretrained`` did; ``str(report)`` is a one-line summary for the user.

    Attributes:
        path: the file read.
        arch: the model's registered name.
        n_in_file: tensors in the file.
        n_loaded: tensors copied into the model.
        head_skipped: True when the file's head did not fit n_labels (the head stays fresh).
        missing: the model's tensors the file did not provide (head excluded when skipped).
        unexpected: the file's tensors that match nothing in the model.
    """

    path: Path
    arch: str
    n_in_file: int
    n_loaded: int
    head_skipped: bool
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [
            f"loaded {self.n_loaded} of {self.n_in_file} tensors from {self.path} into {self.arch}"
        ]
        if self.head_skipped:
            parts.append("head skipped (its shape does not fit the labels; it starts fresh)")
        if self.missing:
            parts.append(f"{len(self.missing)} missing ({_first(self.missing)})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected ({_first(self.unexpected)})")
        return "; ".join(parts)


def load_pretrained(model: nn.Module, path: str | Path) -> PretrainedReport:
    """Copy the matching tensors of a local weights file into ``model`` (an ``ImageClassifier``).

    Args:
        model: has ``backbone``, ``head``, ``arch`` and ``source_head`` (see ``ImageClassifier``).
        path: a ``.safetensors``, ``.pt``, ``.pth`` or ``.bin`` file.

    Returns:
        A ``PretrainedReport``: tensors loaded, head skipped or not, missing and unexpected keys.

    Raises:
        UserInputError: the file is missing, not a weights file, corrupt, holds pickled objects, matches
            none of the model's backbone tensors, or has backbone tensors of the wrong shape.
    """
    path = Path(path)
    tensors = read_weights(path)
    own = model.state_dict()
    matched = {_model_key(k, own, model.source_head): (k, v) for k, v in tensors.items()}
    matched = {mk: kv for mk, kv in matched.items() if mk in own}
    if not any(mk.startswith("backbone.") for mk in matched):
        raise UserInputError(
            f"none of the {len(tensors)} tensors in {path} match {model.arch}'s backbone parameters "
            f"(the file has {_first(list(tensors))}); was it saved from a different architecture?"
        )
    head_skipped = _check_shapes(model, path, matched, own)
    load = {
        mk: v for mk, (_, v) in matched.items() if not (head_skipped and mk.startswith("head."))
    }
    model.load_state_dict(load, strict=False)
    used = {k for k, _ in matched.values()}
    return PretrainedReport(
        path=path,
        arch=model.arch,
        n_in_file=len(tensors),
        n_loaded=len(load),
        head_skipped=head_skipped,
        missing=[
            k
            for k in own
            if k not in load
            and not k.endswith("num_batches_tracked")
            and not (head_skipped and k.startswith("head."))
        ],
        unexpected=[k for k in tensors if k not in used],
    )


def _check_shapes(
    model: nn.Module,
    path: Path,
    matched: dict[str, tuple[str, torch.Tensor]],
    own: dict[str, torch.Tensor],
) -> bool:
    """True when the head does not fit (to be skipped); UserInputError when a backbone tensor does not."""
    wrong = [mk for mk, (_, v) in matched.items() if v.shape != own[mk].shape]
    bad = [
        f"{matched[mk][0]}: file {tuple(matched[mk][1].shape)}, model {tuple(own[mk].shape)}"
        for mk in wrong
        if not mk.startswith("head.")
    ]
    if bad:
        raise UserInputError(
            f"{len(bad)} tensors in {path} have the wrong shape for {model.arch}'s backbone: "
            f"{'; '.join(bad[:_SHOW])}{'; ...' if len(bad) > _SHOW else ''}. "
            f"Was it saved from a different variant (resnet18 vs resnet50)?"
        )
    return bool(wrong)


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a local weights file, keys without a ``"module."`` prefix; UserInputError if unusable."""
    if not path.is_file():
        raise UserInputError(
            f"pretrained weights {path}: no such file. Pass the path of a local "
            f"{', '.join(SUFFIXES)} file (brainnet never downloads weights)."
        )
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserInputError(
            f"pretrained weights must be a {', '.join(SUFFIXES)} file; received {path}."
        )
    obj = _read_safetensors(path) if suffix == ".safetensors" else _read_torch(path)
    for key in NESTED_KEYS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise UserInputError(
            f"{path} holds a {type(obj).__name__}, not a state dict. "
            f"Save weights with torch.save(model.state_dict(), path) or safetensors."
        )
    tensors = {
        str(k).removeprefix("module."): v for k, v in obj.items() if isinstance(v, torch.Tensor)
    }
    if not tensors:
        raise UserInputError(f"{path} holds no tensors; is it a weights file?")
    return tensors


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise UserInputError(
            f"could not read {path} as safetensors ({e}); the file is corrupt or not safetensors."
        ) from None


def _read_torch(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL (\S+) was not an allowed global", str(e))
        if found is None:
            detail = re.search(r"WeightsUnpickler error: \s*(.+)", str(e))
            raise _corrupt(path, detail.group(1) if detail else str(e)) from None
        raise UserInputError(
            f"{path} contains pickled Python objects besides tensors ({found.group(1)}); brainnet "
            f"loads weights only (torch.load weights_only=True) and never runs code from a file. "
            f"Re-save it with torch.save(model.state_dict(), path) or as .safetensors."
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError) as e:
        raise _corrupt(path, str(e) or type(e).__name__) from None


def _corrupt(path: Path, reason: str) -> UserInputError:
    reason = reason.strip().splitlines()[0][:200] if reason.strip() else "unreadable"
    return UserInputError(
        f"could not read {path} with torch.load ({reason}); the file is corrupt or not a "
        f"PyTorch weights file."
    )


def _model_key(key: str, own: dict[str, torch.Tensor], source_head: str | None) -> str:
    """A file key in the model's spelling: as is, the source's head -> ``head.``, else ``backbone.``."""
    if key in own:
        return key
    if source_head and key.startswith(source_head + "."):
        return "head." + key[len(source_head) + 1 :]
    return "backbone." + key


def _first(names: list[str]) -> str:
    return ", ".join(names[:_SHOW]) + (", ..." if len(names) > _SHOW else "")

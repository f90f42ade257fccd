"""The arrows point one way: cli -> (pipeline, scratch, brain) -> core; core imports nothing of ours but core."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "brainnet"

# package -> brainnet packages it may import (besides itself)
ALLOWED = {
    "core": set(),
    "scratch": {"core"},
    "pipeline": {"core"},
    "brain": {"core", "pipeline"},
    "cli": {"core", "pipeline", "scratch", "brain"},
}
NUMPY_ONLY = {"core", "scratch"}  # may not import torch at all


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _package_files():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if len(rel.parts) > 1:
            yield rel.parts[0], path


@pytest.mark.parametrize("package,path", list(_package_files()), ids=lambda v: str(v))
def test_imports_point_one_way(package, path):
    for name in _imports(path):
        parts = name.split(".")
        if (
            parts[0] == "brainnet"
            and len(parts) > 1
            and parts[1] != package
            and parts[1] in ALLOWED
        ):
            assert parts[1] in ALLOWED[package], (
                f"{path}: {package} may not import brainnet.{parts[1]}"
            )
        if package in NUMPY_ONLY:
            assert parts[0] not in ("torch", "torchvision"), (
                f"{path}: {package} must stay NumPy-only"
            )


def test_every_package_is_known():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(ALLOWED), f"add the new package to ALLOWED: {packages - set(ALLOWED)}"


def test_import_brainnet_does_not_import_torch():
    code = "import sys, brainnet, brainnet.core.decision.metrics, brainnet.cli.main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lazy_public_names_resolve():
    import brainnet

    assert brainnet.MultiLabelMLP.__name__ == "MultiLabelMLP"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        brainnet.nope  # noqa: B018

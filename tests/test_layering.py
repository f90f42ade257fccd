"""What each layer may import, exactly: the brainnet arrows (cli -> (pipeline, scratch, brain, serve) -> core; core
imports nothing of ours) and the third-party packages of each layer. The standard library is always allowed."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "brainnet"

# layer -> the brainnet layers it may import (besides itself)
ALLOWED = {
    "core": set(),
    "scratch": {"core"},
    "pipeline": {"core"},
    "brain": {"core", "pipeline"},
    # the HTML report: torch-free, except Grad-CAM (pipeline/gradcam.py), imported only for torch image models
    "reporting": {"core", "pipeline"},
    "tune": {"core"},  # brainnet tune: Optuna over any preset (the CLI hands it the estimator)
    "serve": {"core"},  # the model comes from brainnet.load, whatever engine or runtime wrote it
    "cli": {"core", "pipeline", "scratch", "brain", "reporting", "tune", "serve"},
}

# layer -> the third-party top-level packages it may import, and no other. Keep each list exact: a
# package nothing imports any more is an error too (test_third_party_lists_are_exact).
THIRD_PARTY = {
    # never torch or torchvision: core is NumPy + scikit-learn + Pillow + liac-arff, plus YAML presets,
    # safetensors model files, iterative stratification and rich (the training loop's one progress bar)
    # onnxruntime: the torch-free runtime of exported models (core/onnx_engine.py, imported lazily)
    "core": {
        "numpy",
        "sklearn",
        "PIL",
        "arff",
        "yaml",
        "safetensors",
        "iterstrat",
        "rich",
        "onnxruntime",
        "scipy",  # scipy.sparse (a dependency of scikit-learn): sparse tables, core/data/sparse.py, lazily
        # core/baselines.py: gradient boosting fits labels on joblib threads, each on one OpenMP thread
        "joblib",
        "threadpoolctl",
    },
    # threadpoolctl: scratch/estimator.py trains in a one-BLAS-thread block (threadpool_limits)
    "scratch": {"numpy", "threadpoolctl"},
    # onnx (and onnxruntime for the parity check at export): pipeline/export.py
    "pipeline": {"torch", "torchvision", "numpy", "safetensors", "onnx", "onnxruntime"},
    # spiking neurons, encoders and models on the pipeline's contracts; numpy: the plasticity rules run on
    # NumPy arrays as well as tensors (brain/plasticity.py), hebbian_net reads the engine's arrays
    "brain": {"torch", "numpy"},
    "reporting": {"numpy", "matplotlib"},  # matplotlib only inside the functions that draw
    "tune": {"optuna", "yaml", "rich"},  # optuna imported inside the functions that run a study
    # the HTTP server: FastAPI on Starlette, run by uvicorn; anyio for worker threads and limits
    "serve": {"fastapi", "starlette", "uvicorn", "anyio", "numpy"},
    "cli": {"numpy", "rich"},
    "": set(),  # src/brainnet/*.py: the package's own entry points
}


def _imports(path: Path) -> list[str]:
    """Every absolute module name imported in ``path`` (at the top or inside functions)."""
    tree = ast.parse(path.read_text("utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _files() -> list[tuple[str, Path]]:
    """(layer, file) for every module under src/brainnet; layer "" for the top-level modules."""
    files = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        files.append((rel.parts[0] if len(rel.parts) > 1 else "", path))
    return files


def _third_party(name: str) -> str | None:
    top = name.split(".")[0]
    return None if top == "brainnet" or top in sys.stdlib_module_names else top


@pytest.mark.parametrize("layer,path", _files(), ids=lambda v: str(v))
def test_brainnet_arrows_point_one_way(layer, path):
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "brainnet" and len(parts) > 1 and parts[1] in ALLOWED and layer:
            assert parts[1] == layer or parts[1] in ALLOWED[layer], (
                f"{path}: {layer} may not import brainnet.{parts[1]}"
            )


@pytest.mark.parametrize("layer,path", _files(), ids=lambda v: str(v))
def test_only_the_listed_third_party_packages(layer, path):
    for name in _imports(path):
        top = _third_party(name)
        assert top is None or top in THIRD_PARTY[layer], (
            f"{path}: {layer or 'brainnet/*.py'} may import only "
            f"{', '.join(sorted(THIRD_PARTY[layer])) or 'the standard library'} besides the standard "
            f"library; received {name!r}. Add it to THIRD_PARTY in tests/test_layering.py if it belongs."
        )


def test_third_party_lists_are_exact():
    used: dict[str, set[str]] = {}
    for layer, path in _files():
        used.setdefault(layer, set()).update(filter(None, map(_third_party, _imports(path))))
    for layer, allowed in THIRD_PARTY.items():
        if layer in used:  # a layer without files yet (brain) keeps its planned list
            assert allowed == used[layer], (
                f"{layer}: listed {sorted(allowed)}, used {sorted(used[layer])}"
            )


def test_torch_stays_out_of_core_and_scratch():
    for layer in ("core", "scratch"):
        assert not {"torch", "torchvision"} & THIRD_PARTY[layer]


def test_every_package_is_known():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(ALLOWED), f"add the new package to ALLOWED: {packages - set(ALLOWED)}"
    assert set(ALLOWED) <= set(THIRD_PARTY)


def test_import_brainnet_does_not_import_torch():
    code = (
        "import sys, brainnet, brainnet.core.decision.metrics, brainnet.cli.main, brainnet.tune; "
        "print('torch' in sys.modules, 'optuna' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_lazy_public_names_resolve():
    import brainnet

    assert brainnet.MultiLabelMLP.__name__ == "MultiLabelMLP"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        brainnet.nope  # noqa: B018

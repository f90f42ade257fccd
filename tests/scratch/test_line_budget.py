"""The engine fits on a screen: small files and short functions (STYLE.md principle 2)."""

import ast
from pathlib import Path

import pytest

SCRATCH = Path(__file__).resolve().parents[2] / "src" / "brainnet" / "scratch"
MAX_CODE_LINES = 150
MAX_FUNCTION_LINES = 40


def _docstring_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if is_doc and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


FILES = sorted(SCRATCH.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SCRATCH)))
def test_file_and_function_budget(path):
    source = path.read_text("utf-8")
    tree = ast.parse(source)
    docs = _docstring_lines(tree)
    code = [
        line
        for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docs
    ]
    assert len(code) <= MAX_CODE_LINES, f"{path}: {len(code)} code lines > {MAX_CODE_LINES}"
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, (
                f"{path}:{node.lineno} {node.name} has {length} lines"
            )

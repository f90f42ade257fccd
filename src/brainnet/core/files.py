"""Atomic writes: nothing the user had is lost, and nothing half-written is left under a final name."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from brainnet.core.errors import UserInputError


def check_writable_target(path: Path, *, force: bool, what: str = "output") -> None:
    """Refuse to overwrite an existing output unless ``force``.

    Raises:
        UserInputError: ``path`` exists and ``force`` is False.
    """
    if path.exists() and not force:
        raise UserInputError(
            f"{what} {str(path)!r} already exists; brainnet does not overwrite outputs. "
            "Choose another path or pass --force to replace it."
        )


def atomic_write_bytes(path: str | Path, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    check_writable_target(path, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str, *, force: bool = False) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), force=force)


@contextlib.contextmanager
def atomic_directory(
    path: str | Path, *, force: bool = False, may_replace: Callable[[Path], bool] | None = None
) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``path`` in one rename.

    Args:
        path: the final directory.
        force: replace an existing ``path``; without it an existing path is an error.
        may_replace: called on an existing ``path`` when forcing; returning False refuses to replace it
            (so ``--force`` never deletes a directory that is not ours).

    On an exception the temporary directory is removed and ``path`` is untouched.
    """
    path = Path(path)
    check_writable_target(path, force=force)
    if path.exists():
        if not path.is_dir():
            raise UserInputError(
                f"{str(path)!r} exists and is not a directory; choose another path."
            )
        if may_replace is not None and any(path.iterdir()) and not may_replace(path):
            raise UserInputError(
                f"{str(path)!r} is a non-empty directory that brainnet did not write; "
                "refusing to replace it even with --force. Choose another path."
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "replaced")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

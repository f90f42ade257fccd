import pytest

from brainnet.core.errors import UserInputError
from brainnet.core.files import atomic_directory, atomic_write_text


def test_atomic_write_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "out.csv"
    atomic_write_text(path, "first")
    with pytest.raises(UserInputError, match="already exists.*--force"):
        atomic_write_text(path, "second")
    assert path.read_text() == "first"
    atomic_write_text(path, "second", force=True)
    assert path.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary left behind


def test_atomic_directory_keeps_the_old_one_when_writing_fails(tmp_path):
    target = tmp_path / "model"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target, force=True) as tmp:
        (tmp / "a").write_text("new")
        raise RuntimeError("crash while writing")
    assert (target / "a").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_force_never_replaces_a_directory_that_is_not_ours(tmp_path):
    target = tmp_path / "home"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    with (
        pytest.raises(UserInputError, match="did not write"),
        atomic_directory(target, force=True, may_replace=lambda p: False),
    ):
        pass
    assert (target / "precious.txt").read_text() == "keep me"


def test_atomic_directory_on_a_file_is_an_error(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with (
        pytest.raises(UserInputError, match="not a directory"),
        atomic_directory(target, force=True),
    ):
        pass

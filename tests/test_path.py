"""triolet.Path: pure operations stay sync, file-system operations are async.

Public API only; also runs against real trio:
``PYTHONPATH=/tmp/trioshim python -m pytest tests/test_path.py``.
"""

from __future__ import annotations

import os
import pathlib
import pickle
import sys

import pytest

import triolet

UNDER_TRIO = triolet.run.__module__.split(".")[0] == "trio"


@pytest.fixture
def directory(tmp_path: pathlib.Path) -> triolet.Path:
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "b.py").write_text("beta")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("gamma")
    return triolet.Path(tmp_path)


# ---------------------------------------------------------------------- pure operations
def test_path_makes_the_flavour_of_this_system() -> None:
    expected = triolet.WindowsPath if os.name == "nt" else triolet.PosixPath
    assert type(triolet.Path("x")) is expected
    assert isinstance(triolet.Path("x"), triolet.Path)
    assert isinstance(triolet.Path("x"), pathlib.PurePath)


def test_pure_operations_return_triolet_paths() -> None:
    path = triolet.Path("/srv") / "data" / "file.tar.gz"
    for derived in (path.parent, path.with_suffix(".zip"), path.with_name("x"), path / "y"):
        assert isinstance(derived, triolet.Path)
    assert path.name == "file.tar.gz"
    assert path.suffixes == [".tar", ".gz"]
    assert str(path.relative_to("/srv")) == os.path.join("data", "file.tar.gz")


def test_paths_compare_hash_and_fspath_like_pathlib() -> None:
    assert triolet.Path("a/b") == pathlib.PurePath("a/b")
    assert hash(triolet.Path("a/b")) == hash(pathlib.PurePath("a/b"))
    assert os.fspath(triolet.Path("a", "b")) == os.path.join("a", "b")
    assert triolet.Path(pathlib.Path("x"), "y") == triolet.Path("x/y")


def test_repr_names_the_library() -> None:
    assert repr(triolet.Path("a")).endswith(".Path('a')")


def test_paths_pickle() -> None:
    path = triolet.Path("some/where")
    assert pickle.loads(pickle.dumps(path)) == path


# ---------------------------------------------------------------------- async I/O
async def test_read_and_write_text_and_bytes(tmp_path: pathlib.Path) -> None:
    path = triolet.Path(tmp_path) / "f"
    assert await path.write_text("héllo", encoding="utf-8") == 5
    assert await path.read_text(encoding="utf-8") == "héllo"
    assert await path.write_bytes(b"\x00\x01") == 2
    assert await path.read_bytes() == b"\x00\x01"


async def test_existence_and_kind_queries(directory: triolet.Path) -> None:
    assert await directory.exists()
    assert await directory.is_dir()
    assert await (directory / "a.txt").is_file()
    assert not await (directory / "missing").exists()
    assert not await (directory / "a.txt").is_symlink()
    assert not await (directory / "a.txt").is_fifo()
    assert not await (directory / "a.txt").is_socket()


async def test_iterdir_glob_rglob_return_triolet_paths(directory: triolet.Path) -> None:
    entries = list(await directory.iterdir())
    assert sorted(entry.name for entry in entries) == ["a.txt", "b.py", "sub"]
    assert all(isinstance(entry, triolet.Path) for entry in entries)
    assert [p.name for p in await directory.glob("*.txt")] == ["a.txt"]
    assert sorted(p.name for p in await directory.rglob("*.txt")) == ["a.txt", "c.txt"]


async def test_methods_returning_paths_return_triolet_paths(directory: triolet.Path) -> None:
    target = directory / "a.txt"
    for result in (
        await target.resolve(),
        await target.absolute(),
        await triolet.Path("~").expanduser(),
        await triolet.Path.cwd(),
        await triolet.Path.home(),
    ):
        assert isinstance(result, triolet.Path)
    renamed = await target.rename(directory / "renamed.txt")
    assert isinstance(renamed, triolet.Path) and await renamed.read_text() == "alpha"
    replaced = await renamed.replace(directory / "b.py")
    assert isinstance(replaced, triolet.Path) and await replaced.read_text() == "alpha"


async def test_symlinks(directory: triolet.Path) -> None:
    link = directory / "link"
    await link.symlink_to(directory / "a.txt")
    assert await link.is_symlink()
    assert await link.readlink() == directory / "a.txt"
    assert isinstance(await link.readlink(), triolet.Path)
    assert await link.samefile(str(directory / "a.txt"))
    assert (await link.lstat()).st_ino != (await link.stat()).st_ino


async def test_hardlink_to(directory: triolet.Path) -> None:
    link = directory / "hard"
    await link.hardlink_to(directory / "a.txt")
    assert await link.samefile(str(directory / "a.txt"))


@pytest.mark.skipif(UNDER_TRIO, reason="trio's samefile can't take a trio.Path argument")
async def test_samefile_accepts_a_triolet_path(directory: triolet.Path) -> None:
    assert await (directory / "a.txt").samefile(directory / "a.txt")


async def test_mkdir_touch_chmod_unlink_rmdir(tmp_path: pathlib.Path) -> None:
    base = triolet.Path(tmp_path) / "x" / "y"
    await base.mkdir(parents=True)
    with pytest.raises(FileExistsError):
        await base.mkdir()
    await base.mkdir(exist_ok=True)
    file = base / "f"
    await file.touch()
    await file.chmod(0o600)
    assert (await file.stat()).st_mode & 0o777 == 0o600
    await file.unlink()
    await file.unlink(missing_ok=True)
    with pytest.raises(FileNotFoundError):
        await file.unlink()
    await base.rmdir()
    assert not await base.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX owners")
async def test_owner_and_group(directory: triolet.Path) -> None:
    assert isinstance(await directory.owner(), str)
    assert isinstance(await directory.group(), str)


async def test_open_returns_an_async_file(directory: triolet.Path) -> None:
    async with await (directory / "a.txt").open() as f:
        assert await f.read() == "alpha"
    async with await (directory / "new.bin").open("wb") as f:
        await f.write(b"\x01")
    assert await (directory / "new.bin").read_bytes() == b"\x01"


async def test_io_errors_are_pathlibs(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError):
        await (triolet.Path(tmp_path) / "missing").read_text()


async def test_io_methods_are_checkpoints(directory: triolet.Path) -> None:
    with triolet.testing.assert_checkpoints():
        await directory.exists()

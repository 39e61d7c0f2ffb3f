"""open_file, wrap_file and the async file wrapper.

Public API only; also runs against real trio:
``PYTHONPATH=/tmp/trioshim python -m pytest tests/test_file_io.py``.
"""

from __future__ import annotations

import copy
import io
import pathlib
import threading
from typing import Any

import pytest

import triolet
from triolet.testing import assert_checkpoints


@pytest.fixture
def text_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "lines.txt"
    path.write_text("first\nsecond\nthird\n")
    return path


async def test_open_file_reads_like_open(text_file: pathlib.Path) -> None:
    async with await triolet.open_file(text_file) as f:
        assert await f.read() == text_file.read_text()


async def test_open_file_writes_and_flushes(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "out.bin"
    async with await triolet.open_file(path, "wb") as f:
        assert await f.write(b"abc") == 3
        await f.writelines([b"d", b"e"])
        await f.flush()
        assert path.read_bytes() == b"abcde"


async def test_open_file_takes_open_s_arguments(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("café\r\n".encode("latin-1"))
    async with await triolet.open_file(path, encoding="latin-1", newline="") as f:
        assert await f.read() == "café\r\n"


async def test_open_file_raises_what_open_raises(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError):
        await triolet.open_file(tmp_path / "missing")


async def test_open_file_is_a_checkpoint(text_file: pathlib.Path) -> None:
    with assert_checkpoints():
        f = await triolet.open_file(text_file)
    await f.aclose()


async def test_blocking_methods_run_in_a_worker_thread() -> None:
    class RecordingFile(io.BytesIO):
        read_in: int | None = None

        def read(self, size: int | None = -1) -> bytes:
            self.read_in = threading.get_ident()
            return super().read(size)

    raw = RecordingFile(b"data")
    f = triolet.wrap_file(raw)
    assert await f.read() == b"data"
    assert raw.read_in is not None and raw.read_in != threading.get_ident()


async def test_async_iteration_yields_lines(text_file: pathlib.Path) -> None:
    async with await triolet.open_file(text_file) as f:
        assert [line async for line in f] == ["first\n", "second\n", "third\n"]


async def test_seek_tell_readline(text_file: pathlib.Path) -> None:
    async with await triolet.open_file(text_file) as f:
        assert await f.readline() == "first\n"
        position = await f.tell()
        assert await f.readlines() == ["second\n", "third\n"]
        await f.seek(position)
        assert await f.read(6) == "second"


async def test_sync_attributes_pass_through(text_file: pathlib.Path) -> None:
    f = await triolet.open_file(text_file)
    assert f.name == str(text_file)
    assert f.mode == "r"
    assert f.closed is False
    assert f.readable() is True
    assert isinstance(f.fileno(), int)
    assert f.wrapped.name == str(text_file)
    await f.aclose()
    assert f.closed is True


async def test_missing_attributes_raise_attribute_error() -> None:
    f = triolet.wrap_file(io.BytesIO(b""))
    with pytest.raises(AttributeError):
        f.no_such_method  # noqa: B018
    with pytest.raises(AttributeError):
        f.encoding  # noqa: B018  (BytesIO has none, so neither does the wrapper)


async def test_dir_lists_what_the_wrapped_file_offers() -> None:
    names = dir(triolet.wrap_file(io.BytesIO(b"")))
    assert {"read", "write", "getvalue", "aclose", "wrapped"} <= set(names)
    assert "encoding" not in names


async def test_in_memory_files_can_be_wrapped() -> None:
    f = triolet.wrap_file(io.StringIO("hello"))
    assert f.getvalue() == "hello"
    assert await f.read() == "hello"


def test_a_wrapper_can_be_copied() -> None:
    f = triolet.wrap_file(io.BytesIO(b"x"))
    assert copy.copy(f).wrapped is f.wrapped


def test_wrap_file_rejects_non_files() -> None:
    with pytest.raises(TypeError):
        triolet.wrap_file(object())

    class WriteOnlyWithoutClose:
        def write(self, data: Any) -> None:
            pass

    with pytest.raises(TypeError):
        triolet.wrap_file(WriteOnlyWithoutClose())


async def test_detach_returns_the_wrapped_raw_stream(text_file: pathlib.Path) -> None:
    f = await triolet.open_file(text_file, "rb")
    raw = await f.detach()
    assert isinstance(raw.wrapped, io.FileIO)
    assert await raw.read() == text_file.read_bytes()
    await raw.aclose()


async def test_aclose_closes_even_when_cancelled(text_file: pathlib.Path) -> None:
    f = await triolet.open_file(text_file)
    with triolet.CancelScope() as scope:
        scope.cancel()
        await f.aclose()
    assert scope.cancelled_caught
    assert f.closed


async def test_cancelled_open_file_raises_cancelled(text_file: pathlib.Path) -> None:
    with triolet.CancelScope() as scope:
        scope.cancel()
        await triolet.open_file(text_file)
    assert scope.cancelled_caught

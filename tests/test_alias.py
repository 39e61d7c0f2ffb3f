"""The trio alias and ``python -m triolet run``.

The alias mutates ``sys.modules`` for the whole process (and pytest's process has the real
trio imported already), so every check runs in a fresh interpreter.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TRIO_PUBLIC_SUBMODULES = ("abc", "from_thread", "lowlevel", "socket", "testing", "to_thread")


def run_python(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def run_code(code: str) -> subprocess.CompletedProcess[str]:
    return run_python("-c", textwrap.dedent(code))


def assert_ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


# -------------------------------------------------------------------- install_trio_alias()
def test_import_trio_gives_triolet() -> None:
    assert_ok(
        run_code(
            """
            import triolet
            triolet.install_trio_alias()
            import trio
            assert trio is triolet
            assert trio.Cancelled is triolet.Cancelled
            """
        )
    )


@pytest.mark.parametrize("submodule", TRIO_PUBLIC_SUBMODULES)
def test_public_submodule_resolves_to_triolets(submodule: str) -> None:
    if importlib.util.find_spec(f"triolet.{submodule}") is None:
        pytest.skip(f"triolet.{submodule} does not exist yet")
    assert_ok(
        run_code(
            f"""
            import triolet
            triolet.install_trio_alias()
            import trio.{submodule}
            from trio import {submodule} as via_from_import
            import triolet.{submodule}
            assert trio.{submodule} is triolet.{submodule} is via_from_import
            """
        )
    )


def test_private_module_maps_to_the_same_triolet_module() -> None:
    assert_ok(
        run_code(
            """
            import triolet
            triolet.install_trio_alias()
            import trio._core
            import triolet._core
            assert trio._core is triolet._core
            assert triolet._core.__spec__.name == "triolet._core"
            """
        )
    )


def test_missing_module_names_the_mapping() -> None:
    result = run_code(
        """
        import triolet
        triolet.install_trio_alias()
        import trio.no_such_module
        """
    )
    assert result.returncode == 1
    assert "No module named 'trio.no_such_module'" in result.stderr
    assert "'triolet.no_such_module'" in result.stderr


def test_alias_refuses_when_real_trio_is_imported() -> None:
    result = run_code(
        """
        import trio
        import triolet
        triolet.install_trio_alias()
        """
    )
    assert result.returncode == 1
    assert "RuntimeError: cannot alias trio to triolet" in result.stderr
    assert "before anything imports trio" in result.stderr


def test_install_is_idempotent() -> None:
    assert_ok(
        run_code(
            """
            import sys, triolet, sniffio
            triolet.install_trio_alias()
            triolet.install_trio_alias()
            from triolet._alias import _AliasFinder
            assert sum(isinstance(f, _AliasFinder) for f in sys.meta_path) == 1

            async def main():
                assert sniffio.current_async_library() == "trio"

            triolet.run(main)
            """
        )
    )


def test_sniffio_reports_trio_inside_runs_with_the_alias() -> None:
    output = assert_ok(
        run_code(
            """
            import triolet, sniffio
            triolet.install_trio_alias()
            import trio

            async def main():
                print(sniffio.current_async_library())

            trio.run(main)
            """
        )
    )
    assert output.split() == ["trio"]


def test_sniffio_reports_triolet_without_the_alias() -> None:
    output = assert_ok(
        run_code(
            """
            import triolet, sniffio

            async def main():
                print(sniffio.current_async_library())

            triolet.run(main)
            """
        )
    )
    assert output.split() == ["triolet"]


# ------------------------------------------------------------------ python -m triolet run
@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "program.py"
    path.write_text(
        textwrap.dedent(
            """
            import sys
            import sniffio
            import trio

            async def main():
                print(sniffio.current_async_library())

            print(__name__, sys.argv[1:], sys.path[0])
            trio.run(main)
            """
        )
    )
    return path


def test_run_as_trio_runs_a_trio_script_on_triolet(script: Path) -> None:
    output = assert_ok(run_python("-m", "triolet", "run", "--as-trio", str(script), "a", "--b"))
    assert output.splitlines() == [f"__main__ ['a', '--b'] {script.parent}", "trio"]


def test_run_without_as_trio_leaves_trio_alone(script: Path) -> None:
    script.write_text("import sys, trio\nprint(trio.__name__, sys.argv[1:])\n")
    output = assert_ok(run_python("-m", "triolet", "run", str(script), "x"))
    assert output.split() == ["trio", "['x']"]


def test_run_module_as_trio(tmp_path: Path) -> None:
    (tmp_path / "trio_program.py").write_text(
        "import sys, trio, triolet\nassert trio is triolet\nprint(__name__, sys.argv[1:])\n"
    )
    output = assert_ok(
        run_python("-m", "triolet", "run", "--as-trio", "-m", "trio_program", "arg", cwd=tmp_path)
    )
    assert output.split() == ["__main__", "['arg']"]


def test_run_passes_on_the_exit_status(script: Path) -> None:
    script.write_text("raise SystemExit(7)\n")
    assert run_python("-m", "triolet", "run", str(script)).returncode == 7


def test_run_missing_script_is_a_usage_error(tmp_path: Path) -> None:
    result = run_python("-m", "triolet", "run", str(tmp_path / "missing.py"))
    assert result.returncode == 2
    assert "can't open file" in result.stderr


def test_help_lists_the_run_subcommand() -> None:
    output = assert_ok(run_python("-m", "triolet", "--help"))
    assert "SUBCOMMAND" in output
    assert "run a Python script or module" in output

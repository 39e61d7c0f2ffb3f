import signal
import subprocess
import sys


def _start_repl() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "triolet"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_repl_awaits_at_top_level() -> None:
    script = "x = await triolet.sleep(0)\nasync def f():\n    return 6 * 7\n\nprint('answer', await f())\n"
    result = subprocess.run(
        [sys.executable, "-m", "triolet"], input=script, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert "answer 42" in result.stdout


def test_repl_ctrl_c_cancels_the_running_statement_not_the_repl() -> None:
    repl = _start_repl()
    assert repl.stdin is not None and repl.stdout is not None
    try:
        repl.stdin.write("print('sleeping', flush=True); await triolet.sleep(1000)\n")
        repl.stdin.flush()
        line = ""
        while "sleeping" not in line:
            line = repl.stdout.readline()
            assert line, "the REPL exited early"
        repl.send_signal(signal.SIGINT)
        repl.stdin.write("print('still here', 1 + 1)\n")
        repl.stdin.close()
        output = repl.stdout.read()
        assert repl.wait(timeout=30) == 0
    finally:
        repl.kill()
    assert "KeyboardInterrupt" in output
    assert "still here 2" in output


def test_repl_shows_errors_and_keeps_going() -> None:
    script = "await triolet.sleep(-1)\nprint('next')\n"
    result = subprocess.run(
        [sys.executable, "-m", "triolet"], input=script, capture_output=True, text=True, timeout=30
    )
    assert "ValueError" in result.stderr + result.stdout
    assert "next" in result.stdout


def test_repl_statements_run_inside_the_loop() -> None:
    script = "print('tasks', triolet.lowlevel.current_task().name)\n"
    result = subprocess.run(
        [sys.executable, "-m", "triolet"], input=script, capture_output=True, text=True, timeout=30
    )
    assert "tasks <REPL statement>" in result.stdout

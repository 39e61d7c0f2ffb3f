"""Getting started: watch the scheduler at work with an instrument."""

from tasks import parent

import triolet


class Tracer(triolet.abc.Instrument):
    """Prints every scheduling event the kernel reports."""

    def before_run(self):
        print("!!! run started")

    def after_run(self):
        print("!!! run finished")

    def task_spawned(self, task):
        print(f"### spawned: {task.name}")

    def task_scheduled(self, task):
        print(f"### scheduled: {task.name}")

    def before_task_step(self, task):
        print(f">>> running a step of {task.name}")

    def after_task_step(self, task):
        print(f"<<< step finished: {task.name}")

    def task_exited(self, task):
        print(f"### exited: {task.name}")

    def before_io_wait(self, timeout):
        if timeout:
            print(f"### waiting for I/O for up to {timeout:.3f} s")
        else:
            print("### quick check for I/O")
        self._wait_started = triolet.current_time()

    def after_io_wait(self, timeout):
        waited = triolet.current_time() - self._wait_started
        print(f"### I/O check finished after {waited:.3f} s")


if __name__ == "__main__":
    triolet.run(parent, instruments=[Tracer()])

"""Porting from trio: tests that pytest-trio would run, on triolet's own plugin."""

import pytest

import triolet


@pytest.fixture
async def echo_channel():
    send_channel, receive_channel = triolet.open_memory_channel(1)
    async with send_channel, receive_channel:
        yield send_channel, receive_channel


@pytest.mark.triolet
async def test_channel_round_trip(echo_channel):
    send_channel, receive_channel = echo_channel
    await send_channel.send("ping")
    assert await receive_channel.receive() == "ping"


@pytest.mark.triolet
async def test_an_hour_passes_instantly(autojump_clock):
    start = triolet.current_time()
    await triolet.sleep(3600)
    assert triolet.current_time() - start == 3600


@pytest.mark.triolet
async def test_background_task_in_the_nursery_fixture(nursery):
    done = triolet.Event()

    async def background():
        done.set()

    nursery.start_soon(background)
    with triolet.fail_after(1):
        await done.wait()

"""Client lifecycle: programs that never call close(), use after close, and event loops that change.

The program tests run a child process and require an empty stderr, also
under ``-W error -X dev``, where an unclosed session, connector or socket
would print a ``ResourceWarning``.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from mirako_async import APIConnectionError, AsyncMirako, ClientClosedError
from mirako_async.testing import Emulator, Stall

from ._support import child_environment, run_python, wait_until
from .conftest import ClientFactory

INTERPRETER_FLAGS = [
    pytest.param((), id="default"),
    pytest.param(("-W", "error", "-X", "dev"), id="dev-mode"),
]

ASYNC_WITHOUT_CLOSE = """
    import asyncio
    import sys

    from mirako_async import AsyncMirako

    # Keeps the client alive until the interpreter exits.
    clients = []

    async def main() -> None:
        client = AsyncMirako(base_url=sys.argv[1], trust_env=False)
        clients.append(client)
        print(len(await client.avatars.list()))

    asyncio.run(main())
    sys.exit(3)
"""

SYNC_WITHOUT_CLOSE = """
    import sys

    from mirako_async import Mirako

    client = Mirako(base_url=sys.argv[1], trust_env=False)
    print(len(client.avatars.list()))
    sys.exit(3)
"""

ASYNC_TWO_RUNS = """
    import asyncio
    import sys

    from mirako_async import AsyncMirako

    client = AsyncMirako(base_url=sys.argv[1], trust_env=False)

    async def count_avatars() -> int:
        return len(await client.avatars.list())

    print(asyncio.run(count_avatars()), asyncio.run(count_avatars()))
    if sys.argv[2] == "close":
        asyncio.run(client.close())
"""

ASYNC_LOOP_CLOSED_WITHOUT_CLEAN_UP = """
    import asyncio
    import sys

    from mirako_async import AsyncMirako

    client = AsyncMirako(base_url=sys.argv[1], trust_env=False)
    loop = asyncio.new_event_loop()
    print(len(loop.run_until_complete(client.avatars.list())))
    loop.close()

    async def count_avatars() -> int:
        return len(await client.avatars.list())

    print(asyncio.run(count_avatars()))
"""


@pytest.mark.parametrize("flags", INTERPRETER_FLAGS)
@pytest.mark.parametrize(
    "script",
    [
        pytest.param(ASYNC_WITHOUT_CLOSE, id="async"),
        pytest.param(SYNC_WITHOUT_CLOSE, id="sync"),
    ],
)
def test_program_without_close_exits_cleanly(mirako_emulator: Emulator, script: str, flags: tuple[str, ...]) -> None:
    env = child_environment(MIRAKO_API_KEY=mirako_emulator.api_key)

    completed = run_python(script, mirako_emulator.base_url, interpreter_flags=flags, env=env)

    assert completed.stderr == ""
    assert completed.returncode == 3
    assert completed.stdout == f"{len(mirako_emulator.avatars())}\n"


@pytest.mark.parametrize("flags", INTERPRETER_FLAGS)
@pytest.mark.parametrize("ending", ["close", "no-close"])
def test_async_client_across_two_runs(mirako_emulator: Emulator, flags: tuple[str, ...], ending: str) -> None:
    env = child_environment(MIRAKO_API_KEY=mirako_emulator.api_key)
    count = len(mirako_emulator.avatars())

    completed = run_python(ASYNC_TWO_RUNS, mirako_emulator.base_url, ending, interpreter_flags=flags, env=env)

    assert completed.stderr == ""
    assert completed.returncode == 0
    assert completed.stdout == f"{count} {count}\n"
    assert mirako_emulator.stats.by_route["list"] == 2


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason=(
        "When a loop is closed without shutdown_asyncgens(), the SDK parks the client's "
        "old session in _ABANDONED with its socket still open, so at interpreter exit "
        "aiohttp prints 'Unclosed client session' and 'Unclosed connector' on stderr."
    ),
)
def test_loop_closed_without_cleanup_is_silent(mirako_emulator: Emulator) -> None:
    env = child_environment(MIRAKO_API_KEY=mirako_emulator.api_key)
    count = len(mirako_emulator.avatars())

    completed = run_python(ASYNC_LOOP_CLOSED_WITHOUT_CLEAN_UP, mirako_emulator.base_url, env=env)

    assert completed.returncode == 0
    assert completed.stdout == f"{count}\n{count}\n"
    assert completed.stderr == ""


async def test_call_after_close_raises_client_closed(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client()
    await client.list()
    await client.close()

    with pytest.raises(ClientClosedError) as caught:
        await client.list()

    assert isinstance(caught.value, RuntimeError)
    assert "closed" in str(caught.value)
    assert client.closed
    assert mirako_emulator.stats.requests == 1


async def test_unused_closed_client_raises(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client()
    await client.close()

    with pytest.raises(ClientClosedError):
        await client.list()

    assert mirako_emulator.stats.requests == 0


async def test_close_twice_is_harmless(make_client: ClientFactory) -> None:
    client = make_client()
    await client.list()

    await client.close()
    await client.close()

    assert client.closed


async def test_close_also_closes_copy(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    copy = client.with_options(timeout=5.0)
    await copy.list()

    await client.close()

    assert copy.closed
    with pytest.raises(ClientClosedError):
        await copy.list()


async def test_close_during_call_fails_it_promptly(make_client: ClientFactory, mirako_emulator: Emulator) -> None:
    client = make_client(timeout=4.0)
    mirako_emulator.inject(Stall(), "list")
    call = asyncio.ensure_future(client.list())
    await wait_until(
        lambda: mirako_emulator.stats.in_flight == 1,
        message="the stalled request reached the emulator",
    )

    started = time.monotonic()
    await client.close()
    with pytest.raises((ClientClosedError, APIConnectionError)):
        await asyncio.wait_for(call, 20.0)
    elapsed = time.monotonic() - started

    assert elapsed < 2.0


async def test_async_client_on_other_loop_raises(
    mirako_emulator: Emulator,
) -> None:
    client = AsyncMirako(mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=False)
    async with client:
        await client.avatars.list()

        def list_on_new_loop() -> None:
            asyncio.run(client.avatars.list())

        with pytest.raises(RuntimeError) as caught:
            await asyncio.to_thread(list_on_new_loop)
        avatars = await client.avatars.list()

    assert type(caught.value) is RuntimeError
    assert "in use on another event loop" in str(caught.value)
    assert len(avatars) == len(mirako_emulator.avatars())
    assert mirako_emulator.stats.by_route["list"] == 2


async def test_async_close_on_other_loop_raises(mirako_emulator: Emulator) -> None:
    client = AsyncMirako(mirako_emulator.api_key, base_url=mirako_emulator.base_url, trust_env=False)
    async with client:
        await client.avatars.list()

        with pytest.raises(RuntimeError) as caught:
            await asyncio.to_thread(asyncio.run, client.close())

    assert "close() must run on the event loop" in str(caught.value)

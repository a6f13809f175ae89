"""The thread runner, the subprocess runner and clean shutdown."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import pytest

from mirako_async.testing import Emulator, EmulatorProcess, Stall, Status


def blocking_get(url: str, token: str | None = "test-key", **kwargs: Any) -> tuple[int, bytes]:
    request = urllib.request.Request(url, **kwargs)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    # An empty ProxyHandler keeps any proxy variable from routing 127.0.0.1 elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def test_thread_runner_blocking_client() -> None:
    with Emulator.in_thread(api_key="thread-key") as emu:
        status, body = blocking_get(emu.base_url + "/v1/avatar/list", "thread-key")
        assert status == 200
        assert len(json.loads(body)["data"]) == 6

        emu.inject(Status(503), "list", times=1)
        status, _ = blocking_get(emu.base_url + "/v1/avatar/list", "thread-key")
        assert status == 503

        avatar = emu.add_avatar(name="From the test thread")
        status, body = blocking_get(emu.base_url + f"/v1/avatar/{avatar['id']}", "thread-key")
        assert json.loads(body)["data"]["name"] == "From the test thread"
        assert emu.stats.requests == 3


def test_thread_runner_concurrent_config() -> None:
    with Emulator.in_thread() as emu:
        errors: list[BaseException] = []

        def configure() -> None:
            try:
                for index in range(50):
                    emu.inject(Status(500), "get", times=1).cancel()
                    emu.latency = 0.0
                    emu.add_avatar(name=f"Thread {threading.get_ident()} #{index}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=configure) for _ in range(4)]
        for thread in threads:
            thread.start()
        for _ in range(20):
            status, _ = blocking_get(emu.base_url + "/v1/avatar/list")
            assert status == 200
        for thread in threads:
            thread.join()

        assert errors == []
        assert len(emu.avatars()) == 6 + 4 * 50


def test_thread_runner_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(OSError), Emulator.in_thread(port=port):
            pass


async def test_thread_runner_async_client() -> None:
    with Emulator.in_thread() as emu:
        async with (
            aiohttp.ClientSession(headers={"Authorization": "Bearer test-key"}) as session,
            session.get(emu.base_url + "/v1/avatar/list") as response,
        ):
            assert response.status == 200


async def test_close_ends_stalled_request() -> None:
    emulator = Emulator()
    async with emulator, aiohttp.ClientSession() as session:
        emulator.inject(Stall(after_bytes=2), "list")
        request = asyncio.ensure_future(
            session.get(
                emulator.base_url + "/v1/avatar/list",
                headers={"Authorization": "Bearer test-key"},
            )
        )
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        await emulator.close()
        closed_in = time.perf_counter() - started
        response = await request
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
        response.release()

    assert closed_in < 1.0


async def test_close_with_idle_connection() -> None:
    async with Emulator() as emu, aiohttp.ClientSession() as session:
        async with session.get(emu.base_url + "/v1/avatar/list") as response:
            await response.read()
        await emu.close()
        await emu.close()


async def test_start_twice_rejected() -> None:
    emulator = Emulator()
    async with emulator:
        with pytest.raises(RuntimeError, match="started before"):
            await emulator.start()


def test_subprocess_runner() -> None:
    with EmulatorProcess(api_key="proc-key", avatars=25, latency=0.01, control=True) as process:
        assert process.base_url.startswith("http://127.0.0.1:")
        assert process.storage_url.startswith("http://127.0.0.1:")
        assert process.api_key == "proc-key"

        status, body = blocking_get(process.base_url + "/v1/avatar/list", "proc-key")
        assert status == 200
        avatars = json.loads(body)["data"]
        assert len(avatars) == 25

        url = avatars[0]["themes"][0]["key_image"]
        status, asset = blocking_get(url, token=None)
        assert status == 200
        assert len(asset) == 4096

        control(process, "POST", "rate_limit", {"rate": 1, "burst": 1})
        blocking_get(process.base_url + "/v1/avatar/list", "proc-key")
        status, _ = blocking_get(process.base_url + "/v1/avatar/list", "proc-key")
        assert status == 429
        control(process, "POST", "rate_limit", {"rate": None})

        fault = {"fault": {"type": "Status", "code": 502}, "route": "list", "times": 1}
        control(process, "POST", "faults", fault)
        status, _ = blocking_get(process.base_url + "/v1/avatar/list", "proc-key")
        assert status == 502

        counters = json.loads(control(process, "GET", "stats"))
        assert counters["requests"] == 4
        assert counters["throttled"] == 1
        assert counters["statuses"] == {"200": 2, "429": 1, "502": 1}

        status, body = blocking_get(
            process.base_url + "/_emulator/latency",
            "proc-key",
            method="POST",
            data=b"{}",
        )
        assert status == 400
        assert "seconds" in json.loads(body)["detail"]

    assert process.returncode == 0


def control(process: EmulatorProcess, method: str, name: str, body: object = None) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    status, reply = blocking_get(
        f"{process.base_url}/_emulator/{name}",
        process.api_key,
        method=method,
        data=data,
    )
    assert status in (200, 204), reply
    return reply


def test_control_off_by_default() -> None:
    with Emulator.in_thread() as emu:
        status, body = blocking_get(emu.base_url + "/_emulator/stats")

    assert status == 404
    assert json.loads(body)["status"] == 404


def test_subprocess_sigint_exits_zero() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mirako_async.testing", "--avatars", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with process:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        status, body = blocking_get(ready["base_url"] + "/v1/avatar/list", ready["api_key"])
        assert (status, json.loads(body)) == (200, {"data": None})

        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)

    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_subprocess_rejects_bad_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mirako_async.testing", "--avatars", "-1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert "avatar count" in result.stderr
    assert result.stdout == ""


def test_control_endpoints() -> None:
    with Emulator.in_thread(control=True, api_key="control-key") as emu:
        base = emu.base_url + "/_emulator/"
        avatar = emu.avatars()[0]
        old_url = avatar["themes"][0]["key_image"]

        status, _ = blocking_get(base + "stats", token=None)
        assert status == 401

        calls = [
            ("POST", "latency", {"seconds": 0.0}),
            ("POST", "asset_size", {"avatar_id": avatar["id"], "nbytes": 10}),
            ("POST", "expire_assets", None),
            (
                "POST",
                "faults",
                {"fault": {"type": "HtmlError", "code": 504}, "route": "get"},
            ),
            ("DELETE", "faults", None),
            ("POST", "stats/reset", None),
        ]
        for method, name, payload in calls:
            data = None if payload is None else json.dumps(payload).encode()
            status, reply = blocking_get(base + name, "control-key", method=method, data=data)
            assert status == 204, (name, reply)

        assert emu.faults == []
        assert emu.stats.requests == 0
        new_url = emu.avatars()[0]["themes"][0]["key_image"]
        assert new_url != old_url
        assert len(emu.asset_bytes(new_url)) == 10

        status, body = blocking_get(base + "nothing", "control-key")
        assert status == 404
        bad = json.dumps({"fault": {"type": "Nope"}}).encode()
        status, body = blocking_get(base + "faults", "control-key", method="POST", data=bad)
        assert status == 400
        assert "Unknown fault type" in json.loads(body)["detail"]

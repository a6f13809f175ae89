"""The public surface: exports, and the blocking client mirroring the async one."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types
import typing
from collections.abc import Generator
from typing import Any, get_args

import pytest

import mirako_async
from mirako_async import AsyncAvatars, AsyncMirako, Avatars, Mirako, MirakoError


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, value in vars(mirako_async).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }

    assert mirako_async.__all__ == sorted(mirako_async.__all__)
    assert set(mirako_async.__all__) - {"__version__"} == public


def test_every_exception_is_exported_and_rooted() -> None:
    from mirako_async import _exceptions

    for name in _exceptions.__all__:
        exported = getattr(mirako_async, name)
        assert exported is getattr(_exceptions, name)
        assert issubclass(exported, MirakoError) or issubclass(exported, ValueError)


def test_import_loads_no_emulator_or_cli() -> None:
    code = (
        "import sys, mirako_async; "
        "print([m for m in sys.modules if m.split('.')[:2] in (['mirako_async', 'testing'], ['mirako_async', '_cli'], ['aiohttp', 'web'])])"
    )

    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "[]"


def public_methods(cls: type) -> dict[str, Any]:
    return {name: member for name, member in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def resolved_hints(function: Any) -> dict[str, Any]:
    namespace = {**vars(mirako_async), **vars(sys.modules[function.__module__])}
    return typing.get_type_hints(function, globalns=namespace)


@pytest.mark.parametrize(("async_class", "sync_class"), [(AsyncMirako, Mirako), (AsyncAvatars, Avatars)])
def test_sync_mirrors_async_methods(async_class: type, sync_class: type) -> None:
    async_methods = public_methods(async_class)
    sync_methods = public_methods(sync_class)

    assert sorted(sync_methods) == sorted(async_methods)
    for name, async_method in async_methods.items():
        async_signature = inspect.signature(async_method)
        sync_signature = inspect.signature(sync_methods[name])
        assert list(sync_signature.parameters) == list(async_signature.parameters), name
        for parameter in async_signature.parameters.values():
            twin = sync_signature.parameters[parameter.name]
            assert (twin.kind, twin.default) == (parameter.kind, parameter.default), f"{name}({parameter.name})"

        async_hints = resolved_hints(async_method)
        sync_hints = resolved_hints(sync_methods[name])
        for argument, hint in async_hints.items():
            if argument == "return":
                continue
            assert sync_hints[argument] == hint, f"{name}({argument})"
        expected_return = async_hints["return"]
        if inspect.isasyncgenfunction(async_method):
            item, sent = get_args(expected_return)
            assert sync_hints["return"] == Generator[item, sent, None], name  # type: ignore[valid-type]
        elif expected_return is not typing.Self:
            assert sync_hints["return"] == expected_return, name


def test_sync_mirrors_async_properties() -> None:
    async_properties = {name for name, value in vars(AsyncMirako).items() if isinstance(value, property)}
    sync_properties = {name for name, value in vars(Mirako).items() if isinstance(value, property)}

    assert sync_properties == async_properties


def test_sync_and_async_resources_match() -> None:
    async_client = AsyncMirako(api_key="k", base_url="http://127.0.0.1:9")
    with Mirako(api_key="k", base_url="http://127.0.0.1:9") as sync_client:
        async_resources = {name for name, value in vars(async_client).items() if not name.startswith("_")}
        sync_resources = {name for name, value in vars(sync_client).items() if not name.startswith("_")}

    assert sync_resources == async_resources == {"avatars"}

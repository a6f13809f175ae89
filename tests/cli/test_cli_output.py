"""The progress bar and the text helpers, without a server."""

from __future__ import annotations

import io

import pytest

from mirako_async._cli._progress import ProgressBar
from mirako_async._cli._render import error_message, printable

from .conftest import FakeTerminal


def test_progress_silent_without_terminal() -> None:
    stream = io.StringIO()

    with ProgressBar("Fetching", 3, stream) as bar:
        bar.update(1, 3)
        bar.update(3, 3)

    assert not bar.enabled
    assert stream.getvalue() == ""


def test_progress_draws_on_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    stream = FakeTerminal()

    with ProgressBar("Fetching", 4, stream) as bar:
        bar.update(2, 4)
        bar.update(4, 4)

    frames = stream.getvalue().split("\r")[1:]
    assert frames[0].startswith("Fetching [----------")
    assert frames[0].rstrip().endswith("] 0/4")
    assert frames[-1].rstrip("\n").endswith("] 4/4")
    assert "-" not in frames[-1]
    assert stream.getvalue().endswith("\n")


def test_progress_fits_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "20")
    stream = FakeTerminal()

    with ProgressBar("Fetching", 10, stream):
        pass

    first_frame = stream.getvalue().split("\r")[1]
    assert first_frame == "Fetching [" + "-" * 10 + "] 0/10"


def test_progress_write_line_above_bar() -> None:
    stream = FakeTerminal()
    output = io.StringIO()

    with ProgressBar("Downloading", 2, stream) as bar:
        bar.write_line("first.png", output)
        bar.advance()

    assert output.getvalue() == "first.png\n"
    assert stream.getvalue().count("\n") == 1
    assert "] 1/2" in stream.getvalue()


def test_progress_zero_total_draws_nothing() -> None:
    stream = FakeTerminal()

    with ProgressBar("Fetching", 0, stream) as bar:
        bar.update(0, 0)

    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Aiko", "Aiko", id="plain"),
        pytest.param("Li Wei 李伟", "Li Wei 李伟", id="wide"),
        pytest.param("bad\x1b[31mred", "bad\\x1b[31mred", id="escape"),
        pytest.param("two\nlines\r", "two\\nlines\\r", id="newline"),
        pytest.param("bell\x07", "bell\\x07", id="bell"),
        pytest.param("rtl\u202eoverride", "rtl\\u202eoverride", id="bidi-override"),
    ],
)
def test_printable_escapes_control_characters(text: str, expected: str) -> None:
    assert printable(text) == expected


def test_error_message_is_one_line() -> None:
    error = RuntimeError("first line\n  second\tline\x1b[0m")

    assert error_message(error) == "first line second line\\x1b[0m"


def test_error_message_without_text_names_type() -> None:
    assert error_message(KeyError()) == "KeyError"

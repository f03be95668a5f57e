"""json_response's default serialiser gives exactly what json.dumps gives, errors included."""

import json
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiohttp import json_text, web

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=5)
    | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=8) | st.integers() | st.booleans() | st.none(), inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_same_text_as_json_dumps(value: Any) -> None:
    assert json_text.dumps(value) == json.dumps(value)


def test_nan_infinity_and_non_ascii_as_json_dumps() -> None:
    value = {"x": float("nan"), "y": [float("inf"), -float("inf")], "z": "naïve ☃ \u2028", 1.5: True}

    assert json_text.dumps(value) == json.dumps(value)


def test_same_errors_and_the_next_call_still_works() -> None:
    unserialisable = {"when": object()}
    with pytest.raises(TypeError) as ours:
        json_text.dumps(unserialisable)
    with pytest.raises(TypeError) as theirs:
        json.dumps(unserialisable)
    assert str(ours.value) == str(theirs.value)

    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match="Circular reference detected"):
        json_text.dumps(loop)

    # A failed call leaves no markers behind: the same objects encode fine afterwards.
    inner = {"a": 1}
    outer = {"inner": inner, "bad": object()}
    with pytest.raises(TypeError):
        json_text.dumps(outer)
    del outer["bad"]
    assert json_text.dumps(outer) == '{"inner": {"a": 1}}'
    assert json_text.dumps([inner, inner]) == '[{"a": 1}, {"a": 1}]'


def test_a_call_from_inside_an_encoding_uses_json_dumps() -> None:
    class Items(dict[str, Any]):
        def items(self) -> Any:  # the C encoder calls this while it holds the shared encoder
            return [("nested", json_text.dumps({"k": [1, 2]}))]

    assert json_text.dumps(Items(x=1)) == json.dumps(Items(x=1)) == '{"nested": "{\\"k\\": [1, 2]}"}'


def test_threads_encoding_the_same_object_at_once() -> None:
    shared = {"rows": [{"id": i, "name": f"row {i}"} for i in range(200)]}
    expected = json.dumps(shared)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                assert json_text.dumps(shared) == expected
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    assert not any(thread.is_alive() for thread in threads)


def test_json_response_uses_a_custom_dumps_when_given() -> None:
    resp = web.json_response({"a": 1}, dumps=lambda value: "custom")

    assert resp.text == "custom"
    assert web.json_response({"a": [1, None]}).text == '{"a": [1, null]}'

"""Inputs that look almost right: valid messages with one field broken, dropped or added, mixed
with plain noise. Almost-right input reaches deeper into a decoder than random bytes do."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=80),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """``valid`` with some keys dropped, some values replaced, some keys added."""
    data = dict(valid)
    keys = sorted(data)
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
        del data[key]
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
        data[key] = draw(json_values)
    for key, value in draw(st.dictionaries(st.text(max_size=12), json_values, max_size=2)).items():
        data[key] = value
    return data


def payloads(valid: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Bytes for a decoder: mostly near-valid JSON, some raw noise and broken UTF-8."""
    near = mutated(valid).map(lambda d: json.dumps(d, ensure_ascii=False).encode())
    return st.one_of(
        near,
        near,
        near,
        st.just(json.dumps(valid).encode()),
        st.binary(max_size=512),
        json_values.map(lambda v: json.dumps(v).encode()),
        near.map(lambda b: b + b"\xff"),
        st.integers(4000, 5000).map(lambda n: b'{"v": 1, "x": "' + b"a" * n + b'"}'),
    )

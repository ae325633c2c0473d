"""Vector and matrix values as users type them (syntax/values.py), against json/NumPy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exprgraph.core.errors import ValueInputError
from exprgraph.core.shapes import matrix, vector
from exprgraph.syntax.values import looks_like_tensor, parse_tensor

finite = st.floats(allow_nan=False, allow_infinity=False)
vectors = st.lists(finite, min_size=1, max_size=6)
matrices = st.integers(1, 4).flatmap(
    lambda width: st.lists(st.lists(finite, min_size=width, max_size=width),
                           min_size=1, max_size=4))


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(vectors, matrices), spaced=st.booleans())
def test_a_json_list_reads_as_numpy_reads_it(value: list, spaced: bool) -> None:
    text = json.dumps(value, separators=(", ", ": ") if spaced else (",", ":"))
    array, shape = parse_tensor("x", text)
    expected = np.array(value, dtype=np.float64)
    assert array.dtype == np.float64 and array.shape == expected.shape
    assert np.array_equal(array, expected)
    assert shape == (vector(len(value)) if expected.ndim == 1
                     else matrix(len(value), len(value[0])))


@pytest.mark.parametrize(("text", "words"), [
    ("[]", "empty list"),
    ("[[]]", "empty row"),
    ("[[1, 2], [3]]", "ragged: row 2 has 1 number, row 1 has 2"),
    ("[1, [2]]", "mixes numbers and lists"),
    ("[[1], 2]", "mixes numbers and lists"),
    ("[[[1]]]", "nests deeper"),
    ("[1, a]", "'a' is not a number"),
    ("[nan]", "'nan' is not a number"),
    ("[1e999]", "beyond the largest float"),
    ("[1, 2", "not closed"),
    ("[1,, 2]", "missing before ,"),
    ("[1, 2,]", "missing before ]"),
    ("[1 2]", "a , or ] is missing"),
    ("[1] x", "text after the closing ]"),
])
def test_malformed_values_are_clear_value_errors(text: str, words: str) -> None:
    with pytest.raises(ValueInputError) as info:
        parse_tensor("W", text)
    assert words in info.value.message
    assert "W" in info.value.message


def test_only_a_leading_bracket_marks_a_list() -> None:
    assert looks_like_tensor(" [1, 2]") and not looks_like_tensor("2") and \
        not looks_like_tensor("pi/2")

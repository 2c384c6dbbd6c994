"""JSON nested lists ⇄ NumPy arrays, with errors that give the path of the bad element.

A ragged array, a string or a boolean among numbers, or a list where a number belongs, is
reported as e.g. "inputs[3] has 2 elements, expected 4 (a ragged array)"; NaN, ±Infinity and
numbers too large for a float (1e999) as "inputs[3][0] is not a finite number", by one vectorised
test of the array.
"""

import math
from typing import Any

import numpy as np

from app.rnn.arrays import Array, all_finite
from app.services.errors import InputError

__all__ = ["to_array", "to_list"]


def to_array(value: Any, field: str, ndims: tuple[int, ...], dtype: str = "float64") -> Array:
    """Nested lists (or a number, when 0 is among `ndims`) → an array of one of `ndims`
    dimensions. Raises InputError naming the first offending element."""
    try:
        array = _convert(value)
    except (ValueError, TypeError, OverflowError):
        raise InputError(*_first_problem(value, field)) from None
    if array.dtype.kind not in "iuf" or _holds_bool(value):
        raise InputError(*_first_problem(value, field))
    if array.ndim not in ndims:
        expected = " or ".join(str(n) for n in ndims)
        raise InputError(
            field,
            f"{field} has {array.ndim} dimension(s) (shape {array.shape}), expected {expected}",
        )
    if 0 in array.shape:
        raise InputError(field, f"{field} has an empty axis (shape {array.shape})")
    array = array.astype(dtype, copy=False)
    if not all_finite(array):
        index = np.argwhere(~np.isfinite(array))[0]
        where = field + "".join(f"[{int(i)}]" for i in index)
        raise InputError(where, f"{where} is not a finite number")
    return array


def _convert(value: Any) -> Array:
    """np.array(value), a batch one sequence at a time: each conversion is one C call that holds
    the GIL, and between two of them the event loop's thread gets its turn (a batch of many
    megabytes would otherwise stall every other connection of the worker)."""
    if isinstance(value, list) and len(value) > 1 and isinstance(value[0], list):
        rows = [np.array(row) for row in value]
        if len({(row.shape, row.dtype.kind in "iuf") for row in rows}) == 1:
            return np.stack(rows)
    return np.array(value)


def _holds_bool(value: Any) -> bool:
    """Whether a JSON true or false stands among the numbers (NumPy would take it for 1 or 0):
    one C-level pass per innermost list (the set of its elements' types)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if type(item) is bool:
            return True
        if isinstance(item, list):
            if item and isinstance(item[0], list):
                todo.extend(item)
            elif bool in set(map(type, item)):
                return True
    return False


def _first_problem(value: Any, field: str) -> tuple[str, str]:
    """Describe the first element that keeps `value` from being a regular array of numbers."""
    shape: list[int] = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]

    def walk(item: Any, depth: int, path: str) -> tuple[str, str] | None:
        if depth < len(shape):
            if not isinstance(item, list):
                return path, f"{path} is a number, expected a list of {shape[depth]} (ragged)"
            if len(item) != shape[depth]:
                return path, (
                    f"{path} has {len(item)} elements, expected {shape[depth]} like "
                    f"{field}{'[0]' * depth} (a ragged array)"
                )
            for index, element in enumerate(item):
                problem = walk(element, depth + 1, f"{path}[{index}]")
                if problem:
                    return problem
            return None
        if isinstance(item, list):
            return path, f"{path} is a list, expected a number (a ragged array)"
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            return path, f"{path} is {type(item).__name__} {item!r:.40}, expected a number"
        if (isinstance(item, int) and abs(item) > 2**63) or not math.isfinite(float(item)):
            return path, f"{path} is not a finite number"
        return None

    return walk(value, 0, field) or (field, f"{field} is not an array of numbers")


def to_list(array: Array) -> Any:
    """An array as nested lists of Python floats (or ints)."""
    return np.asarray(array).tolist()

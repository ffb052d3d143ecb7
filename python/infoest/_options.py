"""Checks of keyword options, shared by every function: a bad value is an
OptionError that names the option, raised before anything reaches the
library (the extension would otherwise raise nanobind's TypeError, which
names no option, for an integer past 64 bits or a negative seed)."""
from __future__ import annotations

import math
import operator
from typing import Any, Optional

from ._errors import OptionError

INT32_MAX = 2 ** 31 - 1
INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1
UINT64_MAX = 2 ** 64 - 1


def choice(option: str, value: Any, table: dict) -> int:
    try:
        return table[value]
    except (KeyError, TypeError):
        raise OptionError(f"{option} takes {', '.join(table)}, not {value!r}") from None


def integer(option: str, value: Any, least: int = 0, most: int = INT64_MAX) -> int:
    """An integer in [least, most]: a Python or NumPy integer, or any number
    with no fraction (3.0, numpy.float32(3), a 0-d array); bools and strings
    are refused."""
    v: Optional[int] = None
    if not isinstance(value, (bool, str, bytes)):
        try:
            v = operator.index(value)
        except TypeError:
            try:
                f = float(value)
            except (TypeError, ValueError):
                f = math.nan
            if f.is_integer():
                v = int(f)
    if v is None or v < least:
        raise OptionError(f"{option} must be an integer >= {least}, not {value!r}")
    if v > most:
        raise OptionError(f"{option} must be an integer <= {most}, not {value!r}")
    return v


def real(option: str, value: Any) -> float:
    """A number as a float (NaN and infinities pass: the library says what is
    wrong with them where they matter)."""
    if isinstance(value, bool):
        raise OptionError(f"{option} must be a number, not {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{option} must be a number, not {value!r}") from None
    except OverflowError:
        raise OptionError(f"{option} is past a double's range: {value!r}") from None


def positive(option: str, value: Any) -> float:
    if value == 1.0 and type(value) in (float, int):   # the default temperature, at once
        return 1.0
    v = real(option, value)
    if not v > 0 or math.isnan(v):
        raise OptionError(f"{option} must be > 0, not {value!r}")
    return v


def nonneg_finite(option: str, value: Any) -> float:
    v = real(option, value)
    if not v >= 0 or v == math.inf:
        raise OptionError(f"{option} must be >= 0 and finite, not {value!r}")
    return v


def seed(value: Any) -> int:
    return integer("seed", value, 0, UINT64_MAX)

"""The exceptions of infoest: one class per status of the C library.

Every failed call raises a subclass of :class:`Error` whose text is the
library's message (``ie_errmsg``: the call, the tensor, what is wrong and,
for bad values, the first offending row), and the same place as numbers:
``e.tensor``, ``e.index``, ``e.row``, ``e.column`` (``ie_error_tensor`` and
friends).  Problems with shapes, dtypes,
options and values are also ``ValueError``\\ s, so ``except ValueError`` works
as it does for NumPy.
"""
from __future__ import annotations

from typing import Optional

__all__ = [
    "Error", "OptionError", "ArgumentTypeError", "ShapeError", "DTypeError", "DeviceError",
    "BadValueError", "NonFiniteError", "NegativeError", "EmptyRowError",
    "LabelError", "EmptyReductionError", "OutOfMemoryError", "BackendUnavailable",
    "BackendError", "UnsupportedError", "CancelledError", "InternalError",
]

class Error(Exception):
    """Base class of every infoest error.

    ``status`` is the C status name (``"IE_NONFINITE"``, ...); ``str(e)`` the
    library's message.  When the failure names one element of one input (a
    NaN, a negative probability, a row with no support, a bad label or
    weight, ...), the place is also given as numbers, counted from 0 in that
    input's own shape, as the library reports it (``ie_error_tensor``,
    ``ie_error_index``, ``ie_error_row``, ``ie_error_column``):

    - ``tensor``: the input's name in the call (``"logits"``, ``"p"``, ``"q"``,
      ``"labels"``, ``"row_weights"``, ``"x"``, ``"cost"``, ...);
    - ``index``: the problem or set of a 3-D ``[B, n, k]`` input;
    - ``row``: the row (for a 1-D input such as labels, the element);
    - ``column``: the element within the row.

    A part the failure does not name is None (a row with no support has no
    column; a bad shape or option names nothing).  Leading dimensions merged
    into rows (``[batch, seq, V]``) are counted as the library saw them: row
    ``r`` is ``divmod(r, seq)``.

    >>> x = np.zeros((4, 8), np.float32); x[2, 5] = np.nan
    >>> try:
    ...     infoest.entropy(x)
    ... except infoest.NonFiniteError as e:
    ...     print(e.tensor, e.row, e.column)
    logits 2 5
    """

    status: str = "IE_INTERNAL"
    tensor: Optional[str] = None
    index: Optional[int] = None
    row: Optional[int] = None
    column: Optional[int] = None


class OptionError(Error, ValueError):
    """A bad option or argument (IE_INVALID_ARGUMENT)."""
    status = "IE_INVALID_ARGUMENT"


class ArgumentTypeError(OptionError, TypeError):
    """An argument of the wrong type, named in the message: None, a number or
    a dict where an array goes, a list of strings, a list as ``out=``, a
    string as ``context=``.  Both an :class:`OptionError` (a ``ValueError``)
    and a ``TypeError``, so either ``except`` catches it."""


class ShapeError(Error, ValueError):
    """A shape or layout that is not accepted (IE_BAD_SHAPE), e.g. a last
    dimension that is not contiguous: pass ``x.contiguous()`` (PyTorch) or
    ``numpy.ascontiguousarray(x)``."""
    status = "IE_BAD_SHAPE"


class DTypeError(Error, ValueError):
    """A dtype that is not supported here (IE_BAD_DTYPE), or a NumPy array
    not in the machine's byte order: cast the array, e.g.
    ``x.astype(numpy.float32)`` or ``x.float()`` (labels and counts:
    ``x.astype(numpy.int64)`` or ``x.long()``); the message names the dtype."""
    status = "IE_BAD_DTYPE"


class DeviceError(Error, ValueError):
    """An array in memory the context cannot use (IE_WRONG_DEVICE), e.g. a
    CUDA tensor given to a CPU context."""
    status = "IE_WRONG_DEVICE"


class BadValueError(Error, ValueError):
    """Base of the errors about the values of an input."""


class NonFiniteError(BadValueError):
    """NaN or +inf in the input (IE_NONFINITE); the message names the row,
    also given as ``e.tensor``, ``e.row`` and ``e.column``."""
    status = "IE_NONFINITE"


class NegativeError(BadValueError):
    """A negative probability (IE_NEGATIVE)."""
    status = "IE_NEGATIVE"


class EmptyRowError(BadValueError):
    """A row with no support: all -inf logits or a zero sum (IE_EMPTY_ROW)."""
    status = "IE_EMPTY_ROW"


class LabelError(BadValueError):
    """A label outside [0, V) that is not ignored (IE_BAD_LABEL)."""
    status = "IE_BAD_LABEL"


class EmptyReductionError(Error, ValueError):
    """A mean over zero kept rows (IE_EMPTY_REDUCTION)."""
    status = "IE_EMPTY_REDUCTION"


class OutOfMemoryError(Error, MemoryError):
    """The memory could not be had (IE_OUT_OF_MEMORY)."""
    status = "IE_OUT_OF_MEMORY"


class BackendUnavailable(Error, RuntimeError):
    """The asked backend is not compiled in or has no device here
    (IE_BACKEND_UNAVAILABLE)."""
    status = "IE_BACKEND_UNAVAILABLE"


class BackendError(Error, RuntimeError):
    """The backend (CUDA, OpenCL, LAPACK) reported a failure
    (IE_BACKEND_FAILURE)."""
    status = "IE_BACKEND_FAILURE"


class UnsupportedError(Error, ValueError):
    """The operation or dtype is not supported by this backend
    (IE_UNSUPPORTED), e.g. float64 on a GPU."""
    status = "IE_UNSUPPORTED"


class CancelledError(Error, RuntimeError):
    """The call was stopped by :meth:`infoest.Context.cancel` (IE_CANCELLED)."""
    status = "IE_CANCELLED"


class InternalError(Error, RuntimeError):
    """A bug in infoest (IE_INTERNAL)."""
    status = "IE_INTERNAL"


_BY_STATUS = {
    "INVALID_ARGUMENT": OptionError,
    "BAD_SHAPE": ShapeError,
    "BAD_DTYPE": DTypeError,
    "WRONG_DEVICE": DeviceError,
    "NONFINITE": NonFiniteError,
    "NEGATIVE": NegativeError,
    "EMPTY_ROW": EmptyRowError,
    "BAD_LABEL": LabelError,
    "EMPTY_REDUCTION": EmptyReductionError,
    "OUT_OF_MEMORY": OutOfMemoryError,
    "BACKEND_UNAVAILABLE": BackendUnavailable,
    "BACKEND_FAILURE": BackendError,
    "UNSUPPORTED": UnsupportedError,
    "INTERNAL": InternalError,
    "CANCELLED": CancelledError,
}


def install(ext) -> None:
    """Tell the extension which class to raise for each status code."""
    codes = ext.status_codes()
    ext._set_error_classes({code: _BY_STATUS.get(name, InternalError)
                            for name, code in codes.items() if code != 0})

"""Partial states: one summary computed in pieces (docs/SPEC.md §11).

A summary over many rows (a mean entropy, NLL or divergence over a data set)
can be made piece by piece by processes that never see each other's rows:
mpi4py ranks, Ray or Dask tasks, ``multiprocessing`` workers.  Each piece of
rows gives a :class:`Partial` (``partial=True`` with ``first_row=`` on
:func:`infoest.entropy`, :func:`infoest.nll`, :func:`infoest.divergence`, or
:meth:`Partial.add` with values of your own); the pieces travel as bytes
(``pickle``, or :meth:`Partial.to_bytes`), are merged in row order, and
:meth:`Partial.finalize` gives the :class:`Summary` that one call over all
the rows gives, to the last bit, however the rows were split.

The sums inside a state are exact (fixed-point integers over the whole range
of doubles), so merging is exact and the one rounding is in ``finalize``:
``sum`` is the correctly rounded ``Σ w_i v_i`` (what ``math.fsum`` gives).
"""
from __future__ import annotations

from typing import Any, Iterable, NamedTuple, Optional

from . import _ext
from ._context import Context, _arg, _Call, _check_context, _default, _opt, current_context
from ._errors import OptionError
from ._options import integer as _integer

__all__ = ["Partial", "Summary", "merge_partials", "PARTIAL_BLOCK_ROWS"]

PARTIAL_BLOCK_ROWS: int = _ext.partial_block_rows
"""Rows a piece should preferably hold (``IE_PARTIAL_BLOCK_ROWS``): the
``infoest`` command splits rows among MPI ranks in whole blocks of this many.
Any split gives the same bits."""


class Summary(NamedTuple):
    """The reductions over the kept rows (``ie_summary``), as
    :meth:`Partial.finalize` returns them."""
    rows: int            #: rows covered (kept or not)
    rows_kept: int       #: rows with a non-zero weight, not ignored
    weight_sum: float    #: Σ w_i over the kept rows, correctly rounded
    sum: float           #: Σ w_i v_i, correctly rounded (+inf/NaN if a value is)
    mean: float          #: sum / weight_sum
    min: float           #: min v_i over the kept rows (NaN if all are NaN)
    max: float           #: max v_i over the kept rows


def _ctx(context: Optional[Context]) -> Any:
    """The context for host-only work (merge, finalize): the one given, the
    ``with`` block's, else the thread's CPU context."""
    c = _check_context(context) if context is not None else current_context()
    return (c if c is not None else _default("cpu", 0))._c


class Partial:
    """The partial state of a summary over rows ``[row_begin, row_end)``
    (``ie_partial``): exact sums, counts, min and max.

    ``Partial(first_row)`` is an empty state that begins at ``first_row``;
    a call with ``partial=True`` returns a filled one::

        part = infoest.entropy(x[a:b], partial=True, first_row=a)   # rows [a, b)

    States merge in row order (``a.merge(b)`` needs ``b.row_begin ==
    a.row_end``, so no piece is lost or counted twice) and
    :meth:`finalize` turns the whole into a :class:`Summary`.  They pickle (and
    ``bytes(part)`` / :meth:`from_bytes`) to their fixed-size bytes, for
    processes of the same build of infoest (host byte order).

    >>> x = np.log(np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]))
    >>> a = infoest.entropy(x[:2], partial=True)                 # rows [0, 2)
    >>> b = infoest.entropy(x[2:], partial=True, first_row=2)    # rows [2, 3)
    >>> s = infoest.merge_partials([b, a]).finalize()
    >>> s.mean == infoest.entropy(x), s.rows
    (True, 3)
    """

    __slots__ = ("_p",)

    def __init__(self, first_row: int = 0) -> None:
        self._p = _ext.Partial(_integer("first_row", first_row))

    # ---- filling ----------------------------------------------------------------------

    def add(self, values: Any, weights: Any = None, *,
            context: Optional[Context] = None) -> "Partial":
        """Add ``values`` (1-D ``[n]`` float32/float64, host memory) as rows
        ``[row_end, row_end + n)``, weighted by ``weights`` (None: every row
        kept with weight 1; else ``[n]``: a bool/int mask, or non-negative
        finite float weights; weight-0 rows are covered, not kept).  For
        engines that compute per-row values themselves.  ±inf and NaN values
        are counted aside (the sum becomes inf or NaN).  Returns ``self``.

        >>> infoest.Partial().add(np.array([0.1, 0.2, 0.3])).finalize().sum   # = math.fsum
        0.6
        """
        call = _Call(context, values)
        _ext.partial_add(call.ctx._c, self._p, _arg(call, values, "values"),
                         _opt(call, weights, "weights", integer=True))
        return self

    def merge(self, other: "Partial", *, context: Optional[Context] = None) -> "Partial":
        """``self ← self followed by other``, in place; ``other`` must begin
        where ``self`` ends (``other.row_begin == self.row_end``), else
        :class:`infoest.OptionError` and ``self`` is unchanged.  Exact: the
        bits of the result do not depend on how the rows were split.  Returns
        ``self``."""
        if not isinstance(other, Partial):
            raise OptionError(f"Partial.merge takes a Partial, not a {type(other).__name__}")
        _ext.partial_merge(_ctx(context), self._p, other._p)
        return self

    def finalize(self, *, context: Optional[Context] = None) -> Summary:
        """The :class:`Summary` of the rows covered: ``rows = row_end −
        row_begin``, the exact sums rounded once to the nearest double,
        ``mean = sum / weight_sum``.  A state with no kept row raises
        :class:`infoest.EmptyReductionError`, as a call's mean does (a
        call's ``reduction="sum"`` over no kept row is 0.0)."""
        return Summary(*_ext.partial_finalize(_ctx(context), self._p))

    # ---- what it holds ------------------------------------------------------------------

    @property
    def row_begin(self) -> int:
        """The first row covered (the caller's numbering of all rows)."""
        return self._p.fields()[0]

    @property
    def row_end(self) -> int:
        """One past the last row covered."""
        return self._p.fields()[1]

    @property
    def rows(self) -> int:
        """Rows covered: ``row_end − row_begin``."""
        f = self._p.fields()
        return f[1] - f[0]

    @property
    def rows_kept(self) -> int:
        """Rows with a non-zero weight (not ignored)."""
        return self._p.fields()[2]

    # ---- as bytes -----------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The state's bytes (``sizeof(ie_partial)``; host byte order): what
        travels between processes of the same build."""
        return self._p.to_bytes()

    __bytes__ = to_bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> "Partial":
        """The state whose bytes are ``data`` (from :meth:`to_bytes`).  A
        wrong length raises :class:`infoest.OptionError` here; bytes that are
        not a state of this build are refused when the state is used."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise OptionError(f"Partial.from_bytes takes bytes, not a {type(data).__name__}")
        p = cls.__new__(cls)
        p._p = _ext.Partial.from_bytes(bytes(data))
        return p

    def __reduce__(self) -> Any:
        return (Partial.from_bytes, (self.to_bytes(),))

    def __copy__(self) -> "Partial":
        return Partial.from_bytes(self.to_bytes())

    def __deepcopy__(self, memo: Any) -> "Partial":
        return self.__copy__()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Partial):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    __hash__ = None  # type: ignore[assignment]   # mutable

    def __repr__(self) -> str:
        b, e, kept, pinf, ninf, nan, lo, hi, _ = self._p.fields()
        return (f"infoest.Partial(rows [{b}, {e}), {kept} kept, min {lo!r}, max {hi!r}"
                + (f", +inf {pinf}" if pinf else "") + (f", -inf {ninf}" if ninf else "")
                + (f", nan {nan}" if nan else "") + ")")


def merge_partials(parts: Iterable[Partial], *, context: Optional[Context] = None) -> Partial:
    """One state from pieces given in any order (e.g. as workers finish):
    sorted by ``row_begin``, then merged in row order into a new
    :class:`Partial` (the pieces are left as they are).  The pieces must
    tile a range of rows with no gap or overlap, else
    :class:`infoest.OptionError`.

    >>> x = np.log(np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [1.0, 1.0]]))
    >>> parts = [infoest.entropy(x[i:i + 1], partial=True, first_row=i) for i in (3, 1, 0, 2)]
    >>> infoest.merge_partials(parts).finalize().sum == infoest.entropy(x, reduction="sum")
    True
    """
    ps = list(parts)
    if not ps:
        raise OptionError("merge_partials: no partial states given")
    for p in ps:
        if not isinstance(p, Partial):
            raise OptionError(f"merge_partials takes Partial objects, not a {type(p).__name__}")
    ps.sort(key=lambda p: (p.row_begin, p.row_end))
    out = ps[0].__copy__()
    for p in ps[1:]:
        out.merge(p, context=context)
    return out

"""Discrete information (docs/SPEC.md §9): counting paired labels, PMI maps,
the mutual information of contingency tables, and partial information
decompositions.  Everything is in nats."""
from __future__ import annotations

from typing import Any, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import _ext
from ._context import Context, _arg, _Call, _CUDA, _empty, _finish, _opt, _out_arg
from ._errors import OptionError
from ._options import INT64_MIN, choice as _choice, integer as _integer, nonneg_finite as _nonneg

__all__ = ["count_pairs", "pmi", "PmiResult", "table_mi", "TableMIResult", "pid",
           "pid_gaussian", "pid_pointwise", "PIDResult", "PointwisePID"]

ArrayLike = Any

_PMI_KIND = {"pmi": 0, "npmi": 1, "ppmi": 2}
_AVERAGE = {"arithmetic": 0, "geometric": 1, "min": 2, "max": 3}
_MEASURE = {"imin": 0, "mmi": 1, "broja": 2}


def _shape(x: Any) -> tuple:
    s = x.shape if hasattr(x, "shape") else np.shape(x)
    return tuple(int(v) for v in s)


# ---- Counting ------------------------------------------------------------------------------

def _classes(labels: Any, ignore_label: Optional[int], name: str) -> int:
    """The largest label + 1 (labels equal to ignore_label left out); 0 for none."""
    a = labels if hasattr(labels, "max") and hasattr(labels, "shape") else np.asarray(labels)
    if ignore_label is not None:
        a = a[a != ignore_label]
    if int(np.prod(_shape(a))) == 0:
        return 0
    m = int(a.max())
    if m < 0:
        raise OptionError(f"{name}: the labels are all negative; give the number of classes")
    return m + 1


def _zeros(call: _Call, shape: tuple) -> Any:
    """A zeroed int64 table in the call's framework and device (a NumPy table
    for frameworks whose arrays cannot be written: the library counts into
    host memory from any backend)."""
    if call.fw == "torch":
        import torch
        return torch.zeros(shape, dtype=torch.int64, device=call.like.device)
    if call.fw == "cupy" and call.device[0] in _CUDA:
        import cupy
        with cupy.cuda.Device(call.device[1]):
            return cupy.zeros(shape, dtype=cupy.int64)
    return np.zeros(shape, np.int64)


def count_pairs(x: ArrayLike, y: ArrayLike, *, x_classes: Optional[int] = None,
                y_classes: Optional[int] = None, ignore_label: Optional[int] = None,
                out: Any = None, context: Optional[Context] = None) -> Any:
    """Count paired labels into a contingency table: ``table[x_i, y_ij] += 1``
    for every row ``i`` and every ``j`` (``ie_count_pairs``).

    ``x`` is ``[N]`` and ``y`` ``[N]`` or ``[N, k]`` (top-k routing: each of
    the k labels of row i pairs with ``x_i``), int32 or int64, host or
    device.  The table is ``[x_classes, y_classes]`` int64 (default: the
    largest label + 1 of each side), made in the labels' framework and on
    their device, or ``out`` (int64 ``[X, Y]``), which is ADDED to: shards
    counted into one table give the table of all (exact, 64-bit).  Pairs where
    ``x`` or ``y`` equals ``ignore_label`` (padding, e.g. -100) are skipped.
    A label outside ``[0, X)`` or ``[0, Y)`` raises :class:`LabelError`
    (``e.row``, ``e.column``) and adds nothing.

    >>> infoest.count_pairs([0, 1, 1, 2], [1, 0, 0, 1])
    array([[0, 1],
           [2, 0],
           [0, 1]])
    >>> infoest.count_pairs([0, 1, -100], [[0, 2], [1, 1], [0, 0]], ignore_label=-100)
    array([[1, 0, 1],
           [0, 2, 0]])
    """
    call = _Call(context, x)
    xa, ya = _arg(call, x, "x", integer=True), _arg(call, y, "y", integer=True)
    ign = _integer("ignore_label", ignore_label, INT64_MIN) if ignore_label is not None else None
    if out is None:
        X = _integer("x_classes", x_classes) if x_classes is not None else _classes(x, ign, "x")
        Y = _integer("y_classes", y_classes) if y_classes is not None else _classes(y, ign, "y")
        table = _zeros(call, (X, Y))
    else:
        if x_classes is not None or y_classes is not None:
            raise OptionError("x_classes and y_classes are out's shape: give one or the other")
        table = out
    _ext.count_pairs(call.ctx._c, xa, ya, _out_arg(call, table), ign, call.stream)
    return table


# ---- PMI -----------------------------------------------------------------------------------

class PmiResult(NamedTuple):
    """What :func:`pmi` returns with ``details=True``."""
    values: Any       #: the map [X, Y] of the asked kind
    n: float          #: N (after smoothing)
    rows: int         #: X
    cols: int         #: Y
    min: float        #: of the returned kind over all cells
    max: float
    min_npmi: float   #: of nPMI over all cells, whatever the kind
    max_npmi: float


def pmi(counts: ArrayLike, *, kind: str = "pmi", min_count: float = 0.0, smooth: float = 0.0,
        x_counts: Optional[ArrayLike] = None, y_counts: Optional[ArrayLike] = None,
        total: Optional[float] = None, out: Any = None, out_dtype: Optional[str] = None,
        details: bool = False, context: Optional[Context] = None) -> Union[Any, PmiResult]:
    """Pointwise mutual information of every cell of a count table (the
    ``infoest pmi`` command).

    ``counts`` ``[X, Y]`` (int32, int64, float32, float64; host or device):
    ``p(x,y) = C_xy/N``, ``p(x) = C_x/N``, ``p(y) = C_y/N``, and

    - ``kind="pmi"`` (default): ``log(p(x,y) / (p(x) p(y)))``; −inf where
      ``C_xy = 0``;
    - ``kind="npmi"``: ``PMI / (−log p(x,y))`` in [−1, 1]: −1 where
      ``p(x,y) = 0``, 1 where ``p(x,y) = 1`` (the command's default kind);
    - ``kind="ppmi"``: ``max(PMI, 0)``.

    ``smooth=k`` adds k to every cell (the marginals and N grow with it);
    cells counted fewer than ``min_count`` times get PMI −inf (nPMI −1,
    PPMI 0).  ``x_counts`` ``[X]`` and ``y_counts`` ``[Y]`` give the
    marginals separately (e.g. unigram counts of a co-occurrence table),
    ``total`` their N (default ``Σ x_counts``); counts that contradict each
    other (``C_xy > C_x``, ...) raise :class:`OptionError` naming the cell.

    Returns the map (``[X, Y]``, ``out_dtype`` float64 or float32, by default
    float64 on the CPU and float32 on a GPU backend, in the input's framework
    and device, or ``out``), or with ``details=True`` a
    :class:`PmiResult` with N and the extremes.

    >>> c = np.array([[10, 0], [0, 10]])
    >>> infoest.pmi(c)                                  # log 2 on the diagonal
    array([[0.69314718,       -inf],
           [      -inf, 0.69314718]])
    >>> infoest.pmi(c, kind="npmi")
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    k = _choice("kind", kind, _PMI_KIND)
    call = _Call(context, counts)
    if out is None:
        if out_dtype is None:   # the GPU backends write float32 maps
            out_dtype = "float64" if call.ctx.backend == "cpu" else "float32"
        if out_dtype not in ("float64", "float32"):
            raise OptionError(f"out_dtype takes float64 or float32, not {out_dtype!r}")
        o = _empty(call, _shape(counts), out_dtype)
    else:
        o = out
    tot = 0.0 if total is None else _nonneg("total", total)
    r = _ext.pmi(call.ctx._c, _arg(call, counts, "counts", integer=True), _out_arg(call, o), k,
                 _nonneg("min_count", min_count), _nonneg("smooth", smooth),
                 _opt(call, x_counts, "x_counts", integer=True),
                 _opt(call, y_counts, "y_counts", integer=True), tot, call.stream)
    values = o if out is not None else _finish(call, o)
    return PmiResult(values, *r) if details else values


# ---- Mutual information of tables ------------------------------------------------------------

class TableMIResult(NamedTuple):
    """What :func:`table_mi` returns: floats for one table, NumPy arrays of
    B values for a batch ``[B, X, Y]``."""
    mi: Any    #: I(X;Y) = Σ p(x,y) log(p(x,y)/(p(x)p(y)))
    nmi: Any   #: I / mean(H(X), H(Y))
    ami: Any   #: (I − E[I]) / (mean(H(X), H(Y)) − E[I]); NaN with no_ami
    emi: Any   #: E[I] under the hypergeometric model; NaN with no_ami
    hx: Any    #: H(X)
    hy: Any    #: H(Y)
    n: Any     #: N, the table's total


def table_mi(counts: ArrayLike, *, average: str = "arithmetic", no_ami: bool = False,
             context: Optional[Context] = None) -> TableMIResult:
    """Mutual information, NMI and AMI of a contingency table (the
    ``infoest table-mi`` command), as scikit-learn's ``mutual_info_score``,
    ``normalized_mutual_info_score`` and ``adjusted_mutual_info_score`` on the
    labels the table counts.

    ``counts`` ``[X, Y]`` or a batch ``[B, X, Y]`` (int32, int64, float32,
    float64; host or device), e.g. from :func:`count_pairs`.  With
    ``p(x,y) = C_xy/N``: ``I = Σ p(x,y) log(p(x,y)/(p(x)p(y)))``,
    ``NMI = I / mean(H(X), H(Y))``, ``AMI = (I − E[I]) / (mean(H(X), H(Y)) −
    E[I])`` with E[I] the exact expectation under the hypergeometric model
    (Vinh, Epps, Bailey 2010); ``average``: ``"arithmetic"`` (default),
    ``"geometric"``, ``"min"`` or ``"max"``.  scikit-learn's conventions: one
    non-empty row and one column give NMI = AMI = 1; NMI is 0 when I = 0.
    AMI needs integer counts; ``no_ami=True`` skips it (and E[I]): NaN.

    >>> r = infoest.table_mi(np.array([[5, 0], [0, 5]]))
    >>> round(r.mi, 12), r.nmi, r.ami                  # log 2, and both 1
    (0.69314718056, 1.0, 1.0)
    """
    call = _Call(context, counts)
    res = _ext.table_mi(call.ctx._c, _arg(call, counts, "counts", integer=True),
                        _choice("average", average, _AVERAGE), bool(no_ami), call.stream)
    shape = _shape(counts)
    if len(shape) == 3:
        return TableMIResult(*(np.array([r[i] for r in res[:shape[0]]]) for i in range(7)))
    return TableMIResult(*res[0])


# ---- Partial information decomposition --------------------------------------------------------

class PIDResult(NamedTuple):
    """A partial information decomposition, in nats: ``I(S1;T) = R + U1``,
    ``I(S2;T) = R + U2``, ``I(S1,S2;T) = R + U1 + U2 + S``.  Floats for one
    joint, NumPy arrays of B values for a batch."""
    redundancy: Any
    unique1: Any
    unique2: Any
    synergy: Any
    mi1: Any          #: I(S1;T)
    mi2: Any          #: I(S2;T)
    mi12: Any         #: I(S1,S2;T)
    iterations: Any   #: BROJA: Newton steps taken (0 otherwise)


def pid(joint: ArrayLike, *, measure: str = "imin",
        context: Optional[Context] = None) -> PIDResult:
    """Partial information decomposition of a joint distribution ``p(s1, s2,
    t)`` into redundancy R, unique informations U1, U2 and synergy S (the
    ``infoest pid --joint`` command).

    ``joint`` ``[S1, S2, T]`` or a batch ``[B, S1, S2, T]`` of counts or
    probabilities (each joint divided by its sum), host or device.
    ``measure``:

    - ``"imin"`` (Williams–Beer, default): ``R = Σ_t p(t) min_i I(S_i; T=t)``
      with ``I(S_i; T=t) = Σ_s p(s|t) log(p(s,t)/(p(s)p(t)))``;
    - ``"mmi"``: ``R = min_i I(S_i; T)``;
    - ``"broja"`` (Bertschinger et al. 2014): ``U1 = min_Q I_Q(S1; T | S2)``
      over the joints Q with P's (s1, t) and (s2, t) marginals.

    Then ``U1 = I(S1;T) − R``, ``U2 = I(S2;T) − R``,
    ``S = I(S1,S2;T) − R − U1 − U2``; no part is below 0.

    >>> xor = np.zeros((2, 2, 2)); xor[0, 0, 0] = xor[0, 1, 1] = xor[1, 0, 1] = xor[1, 1, 0] = 1
    >>> r = infoest.pid(xor, measure="broja")
    >>> round(r.synergy, 9), round(r.redundancy, 9)   # all synergy: log 2
    (0.693147181, 0.0)
    """
    call = _Call(context, joint)
    res = _ext.pid(call.ctx._c, _arg(call, joint, "joint"), _choice("measure", measure, _MEASURE),
                   call.stream)
    shape = _shape(joint)
    if len(shape) == 4:
        return PIDResult(*(np.array([r[i] for r in res[:shape[0]]]) for i in range(8)))
    return PIDResult(*res[0])


def pid_gaussian(covariance: ArrayLike, sizes: Sequence[int], *, samples: Optional[int] = None,
                 context: Optional[Context] = None) -> PIDResult:
    """Gaussian MMI decomposition from the covariance of (X1, X2, Y) (the
    ``infoest pid --covariance F --sizes a,b,c`` command).

    ``covariance`` ``[d, d]`` (float32/float64, symmetric positive definite)
    with block sizes ``sizes = (a, b, c)``, ``a + b + c = d``:
    ``I(A;Y) = ½(log det Σ_A + log det Σ_Y − log det Σ_{A,Y})`` and
    ``R = min(I(X1;Y), I(X2;Y))``.  ``samples=n``: the covariance was
    estimated from n samples (1/(n−1)); every ``log det`` of a d-dimensional
    block is corrected by ``−Σ_{k=1..d} [ψ((n−k)/2) − log((n−1)/2)]`` (Cai,
    Liang, Zhou 2015), the informations clamped at 0 (the synergy may then
    be negative).

    >>> cov = np.array([[1.0, 0.0, 0.6], [0.0, 1.0, 0.3], [0.6, 0.3, 1.0]])
    >>> r = infoest.pid_gaussian(cov, (1, 1, 1))
    >>> bool(round(r.mi1, 12) == round(-0.5 * np.log(1 - 0.36), 12)), r.redundancy == r.mi2
    (True, True)
    """
    try:
        sz = [_integer("sizes", s, 1) for s in sizes]
    except TypeError:       # not a sequence
        sz = []
    if len(sz) != 3:
        raise OptionError(f"sizes must be three block sizes >= 1 (X1, X2, Y), not {sizes!r}")
    n = 0
    if samples is not None:
        n = _integer("samples", samples, 2)
    call = _Call(context, covariance)
    return PIDResult(*_ext.pid_gaussian(call.ctx._c, _arg(call, covariance, "covariance"),
                                        sz[0], sz[1], sz[2], n, call.stream))


class PointwisePID(NamedTuple):
    """What :func:`pid_pointwise` returns: arrays of the maps' shape."""
    redundancy: Any   #: r = min(i1, i2)
    unique1: Any      #: i1 − r
    unique2: Any      #: i2 − r
    synergy: Any      #: i12 − r − u1 − u2


def pid_pointwise(i1: ArrayLike, i2: ArrayLike, i12: ArrayLike, *,
                  out_dtype: Optional[str] = None,
                  context: Optional[Context] = None) -> PointwisePID:
    """Pointwise MMI decomposition of per-element information maps (as in
    DiffusionPID): ``r = min(i1, i2)``, ``u1 = i1 − r``, ``u2 = i2 − r``,
    ``s = i12 − r − u1 − u2``.

    ``i1``, ``i2``, ``i12``: maps of one shape (any, contiguous), float32 or
    float64, host or device.  Returns four arrays of that shape in the
    input's framework and device, of ``out_dtype`` (default: ``i1``'s dtype).
    NaN or inf in a map raises :class:`NonFiniteError` naming the element.

    >>> r = infoest.pid_pointwise([0.2, 0.5], [0.3, 0.1], [0.9, 0.6])
    >>> r.redundancy, r.synergy
    (array([0.2, 0.1]), array([0.6, 0.1]))
    """
    call = _Call(context, i1)
    shape = _shape(i1)
    d = out_dtype or str(getattr(i1, "dtype", "float64")).replace("torch.", "")
    if d not in ("float64", "float32"):
        if out_dtype is not None:
            raise OptionError(f"out_dtype takes float64 or float32, not {out_dtype!r}")
        d = "float64"
    outs = [_empty(call, shape, d) for _ in range(4)]
    _ext.pid_pointwise(call.ctx._c, _arg(call, i1, "i1"), _arg(call, i2, "i2"),
                       _arg(call, i12, "i12"), *[_out_arg(call, o) for o in outs], call.stream)
    return PointwisePID(*[_finish(call, o) for o in outs])

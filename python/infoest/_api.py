"""The functions of infoest (docs/SPEC.md §2–§6), one per C call.

Every function takes arrays through DLPack (NumPy, PyTorch, CuPy, JAX, ...)
with no copy, on the device they live on; lists and other array-likes are
converted to a NumPy array first (a copy).  Options are keywords named as the
`infoest` command's options (``--ignore-index`` is ``ignore_index=``).
Results are in nats.  Per-row values come back as an array of the input's
framework, on its device; summaries as Python floats.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _ext
from ._context import Context, _arg, _Call, _empty, _finish, _host_context, _opt, _out_arg
from ._errors import OptionError
from ._options import INT64_MIN, choice as _choice, integer as _integer, positive as _positive
from ._options import UINT64_MAX, real as _real, seed as _seed
from ._partial import Partial

__all__ = [
    "log_softmax", "softmax", "logsumexp", "entropy", "nll", "divergence",
    "DIVERGENCE_KINDS", "sinkhorn", "SinkhornResult", "knn", "knn_entropy",
    "knn_divergence", "knn_mutual_information", "KnnResult", "vendi", "vendi_batch",
    "matrix_entropy", "matrix_joint_entropy", "matrix_mutual_information",
    "SpectralResult",
]

ArrayLike = Any
"""Anything with ``__dlpack__`` (NumPy, PyTorch, CuPy, JAX arrays), or a list."""

Reduction = str  # "mean" | "sum" | "none"
_REDUCTIONS = ("mean", "sum", "none")

DIVERGENCE_KINDS: Tuple[str, ...] = tuple(_ext.divergence_kinds())
_DIV = {k: i for i, k in enumerate(DIVERGENCE_KINDS)}
_INPUT = {"logits": 0, "probs": 1}
_ENTROPY = {"shannon": 0, "renyi": 1, "tsallis": 2}
_COST = {"sqeuclidean": 0, "half-sqeuclidean": 1, "euclidean": 2}
_KNN_METRIC = {"euclidean": 0, "chebyshev": 1}
_KNN_DIV = {"kl": 0, "renyi": 1, "nnr": 2}
_KERNEL = {"cosine": 0, "rbf": 1, "precomputed": 2}
_PATH = {"auto": 0, "primal": 1, "dual": 2}
_PATH_NAME = {1: "primal", 2: "dual", 0: "auto"}
_OUT_DTYPES = {"float64": "float64", "f64": "float64", "float32": "float32", "f32": "float32",
               "float16": "float16", "f16": "float16", "bfloat16": "bfloat16", "bf16": "bfloat16"}


def _out_dtype(value: Any, allowed: Sequence[str]) -> str:
    d = _OUT_DTYPES.get(str(value).replace("torch.", "")) if value is not None else None
    if d is None or d not in allowed:
        raise OptionError(f"out_dtype takes {', '.join(allowed)}, not {value!r}")
    return d


def _shape(x: Any) -> Tuple[int, ...]:
    s = getattr(x, "shape", None)
    if s is None:
        s = np.shape(x)
    return tuple(int(v) for v in s)


def _dtype_name(x: Any) -> str:
    return str(getattr(x, "dtype", "float64")).replace("torch.", "")


def _reduce(call: _Call, summary: tuple, reduction: str, out: Any) -> Any:
    if reduction == "mean":
        return summary[4]
    if reduction == "sum":
        return summary[3]
    return _finish(call, out)


def _per_row(call: _Call, rows_of: Any, reduction: str, out: Any,
             out_dtype: Any) -> Tuple[Any, Any]:
    """(the per-row output as the extension takes it, as returned) for a
    reduction, shaped as `rows_of`'s leading dimensions; None when only the
    summary is wanted."""
    if out is not None:
        if reduction not in _REDUCTIONS:
            raise OptionError(f"reduction takes 'mean', 'sum' or 'none', not {reduction!r}")
        return _out_arg(call, out), out
    if reduction == "mean" or reduction == "sum":
        return None, None
    if reduction != "none":
        raise OptionError(f"reduction takes 'mean', 'sum' or 'none', not {reduction!r}")
    o = _empty(call, _shape(rows_of)[:-1], _out_dtype(out_dtype, ("float64", "float32")))
    return _out_arg(call, o), o


def _reduce_code(reduction: str, give: bool) -> int:
    """What the extension's row calls take as ``reduce``: 0 no summary
    (``"none"``, or a partial state returned), 1 the mean (an error over zero
    kept rows), 2 the sum (0.0 over zero kept rows)."""
    if give or reduction == "none":
        return 0
    return 2 if reduction == "sum" else 1


def _partial_arg(partial: Any, first_row: int, reduction: str) -> Tuple[Any, int, bool]:
    """(the extension's state or None, first_row, whether the call returns the
    state) for the ``partial=`` and ``first_row=`` options."""
    if partial is None or partial is False:
        if first_row != 0:
            raise OptionError("first_row applies with partial=True or partial=infoest.Partial()")
        return None, 0, False
    first_row = _integer("first_row", first_row)
    if partial is True:
        if reduction == "none":
            raise OptionError("partial=True returns the state instead of values: to get both, "
                              "pass partial=infoest.Partial() with reduction='none'")
        return Partial(first_row), first_row, True
    if isinstance(partial, Partial):
        return partial, first_row, False
    raise OptionError(f"partial takes True or an infoest.Partial, not {partial!r}")


# ---- One distribution a row (SPEC §2) ---------------------------------------------------

def _softmax_family(which: int, logits: ArrayLike, temperature: float, out: Any,
                    out_dtype: Any, context: Optional[Context]) -> Any:
    call = _Call(context, logits)
    x = _arg(call, logits, "logits")
    shape = _shape(logits)
    if out is None:
        if which == 2:
            o = _empty(call, shape[:-1], _out_dtype(out_dtype or "float64", ("float64", "float32")))
        else:
            if out_dtype is None:
                d = _OUT_DTYPES.get(_dtype_name(logits), "float32")
            else:
                d = _out_dtype(out_dtype, ("float64", "float32", "float16", "bfloat16"))
            o = _empty(call, shape, d)
    else:
        o = out
    _ext.softmax_family(call.ctx._c, x, _out_arg(call, o), _positive("temperature", temperature),
                        which, call.stream)
    return o if out is not None else _finish(call, o)


def log_softmax(logits: ArrayLike, *, temperature: float = 1.0, out: Any = None,
                out_dtype: Optional[str] = None, context: Optional[Context] = None) -> Any:
    """Log-softmax of each row: ``out[b, i] = a[b, i]/T − lse(a[b]/T)``, with
    ``lse(a) = m + log Σ exp(a_i − m)``, ``m = max a``.

    ``logits``: ``[B, V]`` (``[V]`` is one row; leading dimensions are rows,
    e.g. ``[batch, seq, V]``), float32, float16, bfloat16 (float64 on the CPU).
    ``-inf`` is probability 0.  Returns an array of the input's shape, framework
    and device, of ``out_dtype`` (default: the input's dtype; bfloat16 as float32
    for NumPy), or writes into ``out``.

    >>> infoest.log_softmax(np.array([[0.0, 0.0]], np.float32))
    array([[-0.6931472, -0.6931472]], dtype=float32)
    """
    return _softmax_family(0, logits, temperature, out, out_dtype, context)


def softmax(logits: ArrayLike, *, temperature: float = 1.0, out: Any = None,
            out_dtype: Optional[str] = None, context: Optional[Context] = None) -> Any:
    """Softmax of each row: ``out[b, i] = exp(a[b, i]/T − lse(a[b]/T))``.

    Shapes, dtypes and ``out`` as for :func:`log_softmax`.

    >>> infoest.softmax(np.log(np.array([[1.0, 3.0]])))
    array([[0.25, 0.75]])
    """
    return _softmax_family(1, logits, temperature, out, out_dtype, context)


def logsumexp(logits: ArrayLike, *, temperature: float = 1.0, out: Any = None,
              out_dtype: str = "float64", context: Optional[Context] = None) -> Any:
    """Log-sum-exp of each row: ``lse(a/T) = m + log Σ exp(a_i/T − m)``.

    Returns one value a row (shape ``logits.shape[:-1]``), float64 or float32.

    >>> infoest.logsumexp(np.zeros((2, 4), np.float32))
    array([1.38629436, 1.38629436])
    """
    return _softmax_family(2, logits, temperature, out, out_dtype, context)


def entropy(x: ArrayLike, *, input: str = "logits", kind: str = "shannon",
            alpha: Optional[float] = None, temperature: float = 1.0,
            reduction: Reduction = "mean", row_weights: Optional[ArrayLike] = None,
            out: Any = None, out_dtype: str = "float64",
            partial: Union[None, bool, Partial] = None, first_row: int = 0,
            context: Optional[Context] = None) -> Any:
    """Entropy of each row's distribution, in nats.

    With ``p = softmax(a/T)`` (``input="logits"``) or ``p = x^(1/T)/Σ x^(1/T)``
    (``input="probs"``, non-negative rows, each divided by its sum):

    - ``kind="shannon"``: ``H(p) = −Σ p_i log p_i``
    - ``kind="renyi"``, ``alpha=α ≥ 0``: ``log(Σ p_i^α)/(1 − α)``; α = 1 is H,
      α = ``inf`` is ``−log max p_i``
    - ``kind="tsallis"``, ``alpha=q ≥ 0`` finite: ``(1 − Σ p_i^q)/(q − 1)``

    ``reduction``: ``"mean"`` (default) and ``"sum"`` return a float over the
    kept rows (a sum over no kept row is 0.0; a mean over none raises
    :class:`EmptyReductionError`); ``"none"`` an array of one value a row
    (shape ``x.shape[:-1]``, the input's framework and device).  ``row_weights`` (``[B]``): bool/int as
    a mask, float as weights (``sum = Σ w_i H_i``, ``mean = sum / Σ w_i``).

    ``partial=True`` returns, instead of the summary, an
    :class:`infoest.Partial` holding this call's rows as rows ``[first_row,
    first_row + B)`` of a larger whole, to be merged with the other pieces'
    states (other processes, other calls) and finalized: the result is the
    one call's summary over all the rows, to the last bit, however the rows
    were split.  ``partial=state`` (an :class:`infoest.Partial`) overwrites
    ``state`` with this call's and returns what ``reduction`` asks.

    Raises :class:`NonFiniteError` (NaN/+inf logits, naming the row),
    :class:`NegativeError`, :class:`EmptyRowError`, :class:`EmptyReductionError`
    (a mean over zero kept rows); a dtype that is not taken raises
    :class:`DTypeError`, an argument that is no array (None, a number)
    :class:`ArgumentTypeError` (a ``TypeError``).

    >>> infoest.entropy(np.zeros((3, 4), np.float32))           # log 4
    1.3862943611198906
    >>> infoest.entropy([[0.5, 0.5]], input="probs", kind="renyi", alpha=2, reduction="none")
    array([0.69314718])
    >>> x = np.zeros((6, 4), np.float32)
    >>> a = infoest.entropy(x[:4], partial=True)                   # rows [0, 4)
    >>> b = infoest.entropy(x[4:], partial=True, first_row=4)      # rows [4, 6), elsewhere
    >>> a.merge(b).finalize().mean == infoest.entropy(x)
    True
    """
    k = _choice("kind", kind, _ENTROPY)
    if k == 0 and alpha is not None:
        raise OptionError("alpha applies to kind='renyi' or 'tsallis'")
    if k != 0 and alpha is None:
        raise OptionError(f"kind={kind!r} needs alpha")
    pt, fr, give = _partial_arg(partial, first_row, reduction)
    call = _Call(context, x)
    po, ret = _per_row(call, x, reduction, out, out_dtype)
    s = _ext.entropy(call.ctx._c, _arg(call, x, "x"), po, _choice("input", input, _INPUT), k,
                     _real("alpha", alpha) if alpha is not None else 1.0,
                     _positive("temperature", temperature),
                     _opt(call, row_weights, "row_weights", integer=True),
                     _reduce_code(reduction, give), pt._p if pt is not None else None, fr,
                     call.stream)
    return pt if give else _reduce(call, s, reduction, ret)


def nll(logits: ArrayLike, labels: ArrayLike, *, ignore_index: Optional[int] = None,
        temperature: float = 1.0, reduction: Reduction = "mean",
        row_weights: Optional[ArrayLike] = None, out: Any = None, out_dtype: str = "float64",
        partial: Union[None, bool, Partial] = None, first_row: int = 0,
        context: Optional[Context] = None) -> Any:
    """Negative log-likelihood of each row's label: ``lse(a/T) − a_y/T`` (nats).

    ``logits`` ``[B, V]`` (leading dimensions are rows: ``[batch, seq, V]``
    with ``labels`` ``[batch, seq]``: the logits' shape less the last
    dimension, else :class:`ShapeError`); ``labels`` int32 or int64.  Rows whose
    label equals ``ignore_index`` are left out (their per-row value is 0), as
    in ``torch.nn.functional.cross_entropy(..., ignore_index=-100)``.  A label
    outside ``[0, V)`` raises :class:`LabelError`.  ``exp(nll(...))`` is the
    perplexity.  ``reduction``, ``row_weights``, ``partial`` and ``first_row``
    as for :func:`entropy` (ignored rows are covered by a partial state but
    not kept).

    >>> logits = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
    >>> round(infoest.nll(logits, [1, -100], ignore_index=-100), 9)      # −log 0.75
    0.287682072
    """
    pt, fr, give = _partial_arg(partial, first_row, reduction)
    call = _Call(context, logits)
    po, ret = _per_row(call, logits, reduction, out, out_dtype)
    s = _ext.nll(call.ctx._c, _arg(call, logits, "logits"), _arg(call, labels, "labels", integer=True),
                 po, _positive("temperature", temperature),
                 _integer("ignore_index", ignore_index, INT64_MIN) if ignore_index is not None else None,
                 _opt(call, row_weights, "row_weights", integer=True),
                 _reduce_code(reduction, give), pt._p if pt is not None else None, fr,
                 call.stream)
    return pt if give else _reduce(call, s, reduction, ret)


# ---- Two distributions a row (SPEC §3) ---------------------------------------------------

_NEEDS_ALPHA = ("alpha", "renyi", "tsallis")
# The common call (NumPy arrays of logits, a kind without alpha, no weights,
# no partial state) goes straight to _ext.divergence_host, which reads the
# arrays through the buffer protocol and returns the summary as a float:
# bench/python_overhead.py times it against the C call.
_ndarray = np.ndarray
_DIV_PLAIN = {k: i for k, i in _DIV.items() if k not in _NEEDS_ALPHA}
_HOST_REDUCTION = {"mean": 0, "sum": 1, "none": 2}
_F32 = np.dtype(np.float32)   # a dtype, not the type: np.empty converts a type each call


def divergence(p: ArrayLike, q: ArrayLike, kind: str = "kl", *, input: str = "logits",
               p_input: Optional[str] = None, q_input: Optional[str] = None,
               alpha: Optional[float] = None, beta: Optional[float] = None,
               temperature: float = 1.0, reduction: Reduction = "mean",
               row_weights: Optional[ArrayLike] = None, out: Any = None,
               out_dtype: str = "float64", partial: Union[None, bool, Partial] = None,
               first_row: int = 0, context: Optional[Context] = None) -> Any:
    """Divergence ``D(p_b ‖ q_b)`` between the distributions of each row, in nats.

    ``p`` and ``q`` are ``[B, V]`` (leading dimensions are rows; both of one
    shape, else :class:`ShapeError`), as logits
    (``p = softmax(a/T)``, the default) or probabilities (``input="probs"``, or
    ``p_input``/``q_input`` for one side); their dtypes may differ.

    ``kind`` (docs/SPEC.md §3):

    ==================  ==========================================================
    ``kl``              ``Σ p_i log(p_i/q_i)``
    ``reverse-kl``      ``KL(q‖p)``
    ``jeffreys``        ``KL(p‖q) + KL(q‖p)``
    ``cross-entropy``   ``−Σ p_i log q_i``
    ``js``              ``β KL(p‖m) + (1−β) KL(q‖m)``, ``m = βp + (1−β)q``;
                        ``beta`` in (0, 1), default ½ (max ``log 2``)
    ``tv``              ``½ Σ |p_i − q_i|``
    ``hellinger``       ``½ Σ (√p_i − √q_i)²`` (squared, in [0, 1])
    ``bhattacharyya``   ``−log Σ √(p_i q_i)``
    ``chi2``            ``Σ (p_i − q_i)²/q_i`` (Pearson)
    ``alpha``           ``(1 − Σ p_i^α q_i^(1−α)) / (α(1−α))`` (Amari), ``alpha`` finite
    ``renyi``           ``log(Σ p_i^α q_i^(1−α)) / (α − 1)``, ``alpha > 0``
                        (``inf``: ``log max p_i/q_i``)
    ``tsallis``         ``(Σ p_i^q q_i^(1−q) − 1)/(q − 1)``, ``alpha`` = q ≥ 0
    ``cauchy-schwarz``  ``−log(Σ p_i q_i / √(Σ p_i² Σ q_i²))``
    ==================  ==========================================================

    ``alpha`` = 1 (and 0 for ``alpha``) returns the KL limit.  An infinite
    divergence (``p_i > 0 = q_i``) is ``inf``, a result, not an error.  Never
    negative.  ``reduction`` (``"mean"``, ``"sum"``: a float; ``"none"``: an
    array of one value a row, in ``p``'s framework and on its device),
    ``row_weights``, ``partial``/``first_row`` (a state to merge across
    processes) and errors as for :func:`entropy`.

    >>> p = np.array([[0.5, 0.5]]); q = np.array([[0.9, 0.1]])
    >>> round(infoest.divergence(p, q, "kl", input="probs"), 9)  # ½log(0.5/0.9) + ½log(0.5/0.1)
    0.510825624
    >>> infoest.divergence(student_logits, teacher_logits, "js", reduction="none")  # doctest: +SKIP
    """
    if (type(p) is _ndarray and type(q) is _ndarray and type(kind) is str
            and type(reduction) is str and alpha is None and beta is None
            and input == "logits" and p_input is None and q_input is None
            and row_weights is None and partial is None and first_row == 0
            and type(temperature) is float and temperature > 0.0
            and (out is None or type(out) is _ndarray)):
        k = _DIV_PLAIN.get(kind)
        r = _HOST_REDUCTION.get(reduction)
        if k is not None and r is not None:
            c = _host_context(context)
            if c is not None:
                if out is not None or r != 2:
                    v = _ext.divergence_host(c, k, p, q, out, temperature, r)
                    return out if r == 2 else v
                rows = len(p) if p.ndim == 2 else p.shape[:-1]   # no tuple for [B, V]
                if out_dtype == "float64":
                    o = np.empty(rows)          # float64, NumPy's default
                elif out_dtype == "float32":
                    o = np.empty(rows, _F32)
                else:
                    o = None
                if o is not None:
                    _ext.divergence_host(c, k, p, q, o, temperature, 2)
                    return o
    k = _choice("kind", kind, _DIV)
    if kind in _NEEDS_ALPHA and alpha is None:
        raise OptionError(f"kind={kind!r} needs alpha")
    if kind not in _NEEDS_ALPHA and alpha is not None:
        raise OptionError(f"alpha applies to kind 'alpha', 'renyi' or 'tsallis', not {kind!r}")
    if beta is not None:
        if kind != "js":
            raise OptionError(f"beta applies to kind 'js', not {kind!r}")
        if not 0 < _real("beta", beta) < 1:
            raise OptionError(f"beta must lie in (0, 1), not {beta!r}")
    both = _choice("input", input, _INPUT)
    pin = _choice("p_input", p_input, _INPUT) if p_input is not None else both
    qin = _choice("q_input", q_input, _INPUT) if q_input is not None else both
    pt, fr, give = _partial_arg(partial, first_row, reduction)
    call = _Call(context, p)
    po, ret = _per_row(call, p, reduction, out, out_dtype)
    s = _ext.divergence(call.ctx._c, k, _arg(call, p, "p"), _arg(call, q, "q"), po, pin, qin,
                        _positive("temperature", temperature),
                        _real("alpha", alpha) if alpha is not None else 0.0,
                        _real("beta", beta) if beta is not None else 0.0,
                        _opt(call, row_weights, "row_weights", integer=True),
                        _reduce_code(reduction, give), pt._p if pt is not None else None, fr,
                        call.stream)
    return pt if give else _reduce(call, s, reduction, ret)


# ---- Sinkhorn (SPEC §4) --------------------------------------------------------------------

class SinkhornResult(NamedTuple):
    """What :func:`sinkhorn` returns.  For one problem the figures are floats
    (and a bool); for a batch of B problems, NumPy arrays of B values."""
    transport_cost: Any   #: ⟨P, C⟩, what POT's ot.sinkhorn2(a, b, C, ε) returns
    objective: Any        #: ⟨P, C⟩ + ε·KL(P ‖ a⊗b), the entropic OT value
    divergence: Any       #: OT_ε(a,b) − ½OT_ε(a,a) − ½OT_ε(b,b) (NaN unless asked for)
    marginal_error: Any   #: ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁
    iterations: Any       #: full iterations run
    converged: Any        #: the stopping rule was met within max_iter
    f: Any = None         #: dual potentials (return_potentials=True)
    g: Any = None
    plan: Any = None      #: P (return_plan=True)


def sinkhorn(a: ArrayLike, b: ArrayLike, cost: Optional[ArrayLike] = None, *,
             x: Optional[ArrayLike] = None, y: Optional[ArrayLike] = None,
             epsilon: float, metric: str = "sqeuclidean", max_iter: int = 1000,
             tol: float = 1e-6, check_every: int = 10, divergence: bool = False,
             cost_xx: Optional[ArrayLike] = None, cost_yy: Optional[ArrayLike] = None,
             rho: Optional[float] = None, eps_scaling: bool = False,
             eps_start: Optional[float] = None, eps_factor: float = 0.5,
             eps_stage_iter: int = 1, memory_budget: Optional[int] = None,
             single_precision: bool = False,
             return_potentials: bool = False, return_plan: bool = False,
             context: Optional[Context] = None) -> SinkhornResult:
    """Entropic optimal transport between histograms ``a`` (n) and ``b`` (m),
    solved in the log domain (docs/SPEC.md §4).

    The plan ``P`` minimises ``⟨P, C⟩ + ε KL(P ‖ a⊗b)`` with marginals ``a``,
    ``b`` (each renormalised to sum 1); the dual updates are
    ``f_i = ε log a_i − ε LSE_j((g_j − C_ij)/ε)``,
    ``g_j = ε log b_j − ε LSE_i((f_i − C_ij)/ε)``, ``P_ij = exp((f_i + g_j − C_ij)/ε)``.

    The cost is either ``cost`` (``[n, m]`` or ``[B, n, m]``) or built from point
    clouds ``x`` (``[n, d]``/``[B, n, d]``) and ``y`` with ``metric``
    ``"sqeuclidean"`` (‖x − y‖², POT's), ``"half-sqeuclidean"`` (GeomLoss's)
    or ``"euclidean"``; ``a`` ``[n]`` or ``[B, n]``, ``b`` ``[m]`` or ``[B, m]``
    (an input without the batch dimension is shared).  ``epsilon`` (POT's
    ``reg``) is required.  Stops when the marginal error ≤ ``tol`` or after
    ``max_iter``; not converging is reported in ``converged``, not raised.
    ``divergence=True`` adds the debiased Sinkhorn divergence (with ``cost``
    it needs ``cost_xx`` ``[n, n]`` and ``cost_yy`` ``[m, m]``).  ``rho``:
    unbalanced transport (marginals relaxed by ρ·KL).  ``eps_scaling``: start
    at ``eps_start`` (default: the largest cost) and shrink by ``eps_factor``.
    ``single_precision``: point clouds on a GPU backend iterate in float32
    tiles (faster, above all where double is slow); ``transport_cost`` is then
    within max(2e-6, 3e-8·r) relative of float64, r = (median cost)/ε.  The
    CPU backend and a given ``cost`` always run in double.

    Returns a :class:`SinkhornResult`; with ``return_potentials``/``return_plan``
    also ``f``, ``g``/``plan`` as arrays in ``a``'s framework and device.

    >>> a = np.full(3, 1/3); b = np.full(3, 1/3); C = 1.0 - np.eye(3)
    >>> r = infoest.sinkhorn(a, b, C, epsilon=0.01)
    >>> round(r.transport_cost, 6), r.converged
    (0.0, True)
    """
    if (cost is None) == (x is None and y is None):
        raise OptionError("give either cost= or both x= and y= (point clouds)")
    if cost is None and (x is None or y is None):
        raise OptionError("point clouds need both x= and y=")
    max_iter = _integer("max_iter", max_iter, 1)
    check_every = _integer("check_every", check_every, 1)
    eps_stage_iter = _integer("eps_stage_iter", eps_stage_iter, 1)
    if not 0 < _real("eps_factor", eps_factor) < 1:
        raise OptionError(f"eps_factor must lie in (0, 1), not {eps_factor!r}")
    budget = 0 if memory_budget is None else _integer("memory_budget", memory_budget, 1, UINT64_MAX)
    if cost is not None and (cost_xx is None) != (cost_yy is None):
        raise OptionError("cost_xx and cost_yy go together")
    call = _Call(context, a)
    sa, sb = _shape(a), _shape(b)
    batched = len(sa) > 1 or len(sb) > 1
    B = max(sa[0] if len(sa) > 1 else 1, sb[0] if len(sb) > 1 else 1)
    for t in (cost, x, y):
        if t is not None and len(_shape(t)) > 2:
            batched = True
            B = max(B, _shape(t)[0])
    n, m = (sa[-1] if sa else 0), (sb[-1] if sb else 0)
    fdt = "float64" if call.ctx.backend == "cpu" else "float32"
    f = g = plan = None
    if return_potentials:
        f = _empty(call, (B, n) if batched else (n,), fdt)
        g = _empty(call, (B, m) if batched else (m,), fdt)
    if return_plan:
        plan = _empty(call, (B, n, m) if batched else (n, m), fdt)
    res = _ext.sinkhorn(
        call.ctx._c, _arg(call, a, "a"), _arg(call, b, "b"), _opt(call, cost, "cost"),
        _opt(call, x, "x"), _opt(call, y, "y"), _real("epsilon", epsilon), max_iter, _positive("tol", tol),
        check_every, _choice("metric", metric, _COST), bool(eps_scaling),
        _real("eps_start", eps_start) if eps_start is not None else 0.0, float(eps_factor), eps_stage_iter,
        _real("rho", rho) if rho is not None else 0.0, bool(divergence), _opt(call, cost_xx, "cost_xx"),
        _opt(call, cost_yy, "cost_yy"), budget, bool(single_precision),
        _out_arg(call, f) if f is not None else None, _out_arg(call, g) if g is not None else None,
        _out_arg(call, plan) if plan is not None else None, call.stream)
    cols = list(zip(*res))
    if batched:
        figures = [np.array(cols[i], dtype=float) for i in range(4)]
        figures += [np.array(cols[4], dtype=np.int64), np.array(cols[5], dtype=bool)]
    else:
        figures = [float(cols[i][0]) for i in range(4)] + [int(cols[4][0]), bool(cols[5][0])]
    fin = (lambda o: _finish(call, o) if o is not None else None)
    return SinkhornResult(*figures, fin(f), fin(g), fin(plan))


# ---- k nearest neighbours (SPEC §5) ----------------------------------------------------------

class KnnResult(NamedTuple):
    """An estimate with what it was made of (``details=True``)."""
    estimate: float  #: nats; a negative MI or divergence is sampling noise, returned raw
    n: int           #: rows of x
    m: int           #: rows of y (0 for the entropy)
    d: int           #: dimension (MI: of x plus y)
    k: int           #: neighbours used


def _points(x: ArrayLike) -> ArrayLike:
    """[N] samples in R^1 as [N, 1] (a view)."""
    if x is not None and len(_shape(x)) == 1:
        if isinstance(x, (list, tuple)):
            a = np.asarray(x)
            if a.dtype.kind not in "biuf":
                return x              # _arg says what is wrong with it
            x = a.astype(np.float64) if a.dtype.kind in "biu" else a
        return x.reshape(-1, 1)
    return x


def _k(k: Any) -> int:
    return _integer("k", k, 1)


def _jitter(jitter: Optional[float]) -> float:
    if jitter is None:
        return 0.0
    return _positive("jitter", jitter)


def _knn_out(r: tuple, details: bool) -> Union[float, KnnResult]:
    return KnnResult(*r) if details else r[0]


def knn(queries: ArrayLike, refs: ArrayLike, k: int, *, metric: str = "euclidean",
        exclude_self: bool = False, context: Optional[Context] = None) -> Tuple[Any, Any]:
    """Exact k nearest neighbours: for each row of ``queries`` ``[m, d]``, the
    ``k`` rows of ``refs`` ``[n, d]`` nearest to it, sorted by (distance,
    index).  ``metric``: ``"euclidean"`` or ``"chebyshev"`` (max-norm).
    ``exclude_self``: queries and refs are the same set and a point never gets
    itself.  Distances are computed from coordinate differences in double (a
    duplicate is at exactly 0).

    Returns ``(indices int64 [m, k], distances float64 [m, k])`` in the
    framework and on the device of ``queries``.

    >>> idx, dist = infoest.knn(pts, pts, 3, exclude_self=True)   # doctest: +SKIP
    """
    k = _k(k)
    call = _Call(context, queries)
    qs = _shape(_points(queries))
    idx = _empty(call, (qs[0], k), "int64")
    dist = _empty(call, (qs[0], k), "float64")
    _ext.knn(call.ctx._c, _arg(call, _points(queries), "queries"), _arg(call, _points(refs), "refs"),
             k, _out_arg(call, idx), _out_arg(call, dist), _choice("metric", metric, _KNN_METRIC),
             bool(exclude_self), call.stream)
    return _finish(call, idx), _finish(call, dist)


def knn_entropy(x: ArrayLike, *, k: int = 3, alpha: Optional[float] = None,
                jitter: Optional[float] = None, seed: int = 0, details: bool = False,
                context: Optional[Context] = None) -> Union[float, KnnResult]:
    """Differential entropy of the samples ``x`` ``[N, d]`` (``[N]``: in R¹), in nats.

    ``ρ_k(i)`` is the distance from ``x_i`` to its k-th nearest neighbour in x
    (itself excluded), ``V_d = π^(d/2)/Γ(d/2 + 1)``:

    - Kozachenko–Leonenko (default): ``ψ(N) − ψ(k) + log V_d + (d/N) Σ log ρ_k(i)``
    - Rényi entropy of order ``alpha`` in (0, k + 1) (Leonenko–Pronzato–Savani):
      ``log((1/N) Σ ζ_i^(1−α))/(1 − α)``, ``ζ_i = (N−1) C_k V_d ρ_k(i)^d``,
      ``C_k = (Γ(k)/Γ(k+1−α))^(1/(1−α))``

    ``1 ≤ k < N``.  Duplicated points (ρ = 0) raise :class:`OptionError`
    unless ``jitter`` (seeded Gaussian noise of ``jitter`` × each column's
    standard deviation, from ``seed``) separates them.  Returns a float (a
    :class:`KnnResult` with ``details=True``).

    >>> x = np.random.default_rng(0).standard_normal((4000, 1))
    >>> bool(abs(infoest.knn_entropy(x) - 0.5 * np.log(2 * np.pi * np.e)) < 0.05)
    True
    """
    call = _Call(context, x)
    r = _ext.knn_entropy(call.ctx._c, _arg(call, _points(x), "x"), _k(k),
                         _real("alpha", alpha) if alpha is not None else None, _jitter(jitter),
                         _seed(seed), call.stream)
    return _knn_out(r, details)


def knn_divergence(x: ArrayLike, y: ArrayLike, *, k: int = 3, kind: str = "kl",
                   alpha: Optional[float] = None, nnr_kind: str = "kl",
                   beta: Optional[float] = None, jitter: Optional[float] = None, seed: int = 0,
                   details: bool = False, context: Optional[Context] = None
                   ) -> Union[float, KnnResult]:
    """Divergence of the law of ``x`` ``[N, d]`` from that of ``y`` ``[M, d]``, in nats.

    ``ν_k(i)`` is the distance from ``x_i`` to its k-th nearest neighbour in y,
    ``ρ_k(i)`` in x (itself excluded):

    - ``kind="kl"`` (Wang–Kulkarni–Verdú): ``(d/N) Σ log(ν_k(i)/ρ_k(i)) + log(M/(N−1))``
    - ``kind="renyi"`` (Póczos–Schneider), ``alpha > 0``, ``k > |α − 1|``:
      ``log(B_{k,α} (1/N) Σ ((N−1) ρ_k^d / (M ν_k^d))^(1−α))/(α − 1)``,
      ``B_{k,α} = Γ(k)²/(Γ(k−α+1) Γ(k+α−1))``
    - ``kind="nnr"`` (Noshad–Moon–Sekeh–Hero): for each ``y_i``, among its k
      nearest neighbours in x ∪ y, ``N_i`` from x and ``M_i`` from y;
      ``r_i = (M/N) N_i/(M_i + 1)``; the divergence ``nnr_kind`` (any kind of
      :func:`divergence` but cross-entropy and cauchy-schwarz; ``alpha``,
      ``beta`` as there) made of the ratios, e.g. renyi ``log((1/M) Σ r_i^α)/(α − 1)``.

    Estimates are raw: a negative value is sampling noise.  ``1 ≤ k < N``,
    ``k < M``.  ``jitter``, ``seed``, ``details`` as for :func:`knn_entropy`.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((3000, 1)); y = rng.standard_normal((3000, 1)) + 1
    >>> abs(infoest.knn_divergence(x, y, k=5) - 0.5) < 0.1      # KL(N(0,1)‖N(1,1)) = ½
    True
    """
    method = _choice("kind", kind, _KNN_DIV)
    nk = _choice("nnr_kind", nnr_kind, _DIV)
    if nnr_kind != "kl" and method != 2:
        raise OptionError("nnr_kind goes with kind='nnr'")
    if method == 0 and alpha is not None:
        raise OptionError("alpha goes with kind='renyi' or 'nnr'; kind='kl' has no order")
    if method != 2 and beta is not None:
        raise OptionError("beta goes with kind='nnr' (nnr_kind='js')")
    if beta is not None and not 0 < _real("beta", beta) < 1:
        raise OptionError(f"beta must lie in (0, 1), not {beta!r}")
    call = _Call(context, x)
    r = _ext.knn_divergence(call.ctx._c, method, _arg(call, _points(x), "x"),
                            _arg(call, _points(y), "y"), _k(k),
                            _real("alpha", alpha) if alpha is not None else None, nk,
                            _real("beta", beta) if beta is not None else 0.0, _jitter(jitter), _seed(seed),
                            call.stream)
    return _knn_out(r, details)


def knn_mutual_information(x: ArrayLike, y: ArrayLike, *, k: int = 3,
                           jitter: Optional[float] = None, seed: int = 0,
                           details: bool = False, context: Optional[Context] = None
                           ) -> Union[float, KnnResult]:
    """Mutual information of paired samples ``x`` ``[N, dx]`` and ``y``
    ``[N, dy]``, in nats: the first KSG estimator (Kraskov–Stögbauer–Grassberger)

    ``ψ(k) + ψ(N) − (1/N) Σ [ψ(n_x(i) + 1) + ψ(n_y(i) + 1)]``,

    ``ε_i`` the max-norm distance from ``(x_i, y_i)`` to its k-th neighbour in
    the joint space, ``n_x(i) = #{j ≠ i : ‖x_j − x_i‖∞ < ε_i}``, likewise n_y.
    Negative estimates are returned as they are.  ``1 ≤ k < N``.

    >>> rng = np.random.default_rng(1); x = rng.standard_normal((2000, 1))
    >>> y = 0.8 * x + 0.6 * rng.standard_normal((2000, 1))     # ρ = 0.8
    >>> bool(abs(infoest.knn_mutual_information(x, y) + 0.5 * np.log(1 - 0.64)) < 0.05)
    True
    """
    call = _Call(context, x)
    r = _ext.knn_mutual_information(call.ctx._c, _arg(call, _points(x), "x"),
                                    _arg(call, _points(y), "y"), _k(k), _jitter(jitter),
                                    _seed(seed), call.stream)
    return _knn_out(r, details)


# ---- Spectral measures (SPEC §6) -----------------------------------------------------------

class SpectralResult(NamedTuple):
    """A spectral measure with what was computed (``details=True``)."""
    value: float      #: the score, entropy or information (nats)
    max_clamp: float  #: largest negative eigenvalue clamped to 0 (as a positive number)
    path: str         #: "primal" (n×n) or "dual" (d×d, cosine)
    n: int            #: samples
    positive: int     #: eigenvalues kept as > 0


def _kernel_args(x: Any, kernel_matrix: Any, kernel: str, sigma: Optional[float]
                 ) -> Tuple[Any, int, float]:
    if (x is None) == (kernel_matrix is None):
        raise OptionError("give either x (samples) or kernel_matrix (K)")
    if kernel_matrix is not None:
        return kernel_matrix, 2, 0.0
    kc = _choice("kernel", kernel, _KERNEL)
    if kc == 1 and sigma is None:
        raise OptionError("kernel='rbf' needs sigma")
    if kc != 1 and sigma is not None:
        raise OptionError("sigma goes with kernel='rbf'")
    return _points(x), kc, _real("sigma", sigma) if sigma is not None else 0.0


def _spectral_out(r: tuple, details: bool) -> Union[float, SpectralResult]:
    if details:
        return SpectralResult(r[0], r[1], _PATH_NAME.get(r[2], "auto"), r[3], r[4])
    return r[0]


def vendi(x: Optional[ArrayLike] = None, *, kernel_matrix: Optional[ArrayLike] = None,
          kernel: str = "cosine", sigma: Optional[float] = None, q: Optional[float] = None,
          path: str = "auto", single_precision: bool = False, details: bool = False,
          context: Optional[Context] = None) -> Union[float, SpectralResult]:
    """Vendi score of order ``q`` of the samples ``x`` ``[n, d]``:
    ``exp(H_q(λ))``, λ the eigenvalues of ``K/n``, ``H_q`` the Rényi entropy
    (q = 1, the default: ``exp(−Σ λ log λ)``; q = 0: the number of λ > 0;
    q = ``inf``: ``1/max λ``).

    ``kernel``: ``"cosine"`` (``x·y/‖x‖‖y‖``) or ``"rbf"``
    (``exp(−‖x − y‖²/(2σ²))``, needs ``sigma``); or ``kernel_matrix=K``
    ``[n, n]`` (symmetric, unit diagonal).  ``path``: ``"auto"`` (the d×d dual
    for cosine when d < n), ``"primal"``, ``"dual"``.  n identical samples score
    1, n orthonormal ones n.  Returns a float (a :class:`SpectralResult` with
    ``details=True``).

    >>> infoest.vendi(np.eye(5))
    5.000000000000001
    """
    arr, kc, sg = _kernel_args(x, kernel_matrix, kernel, sigma)
    call = _Call(context, arr)
    r = _ext.vendi(call.ctx._c, _arg(call, arr, "x"), kc, sg,
                   _real("q", q) if q is not None else None, _choice("path", path, _PATH),
                   bool(single_precision), call.stream)
    return _spectral_out(r, details)


def vendi_batch(x: Optional[ArrayLike] = None, *, kernel_matrix: Optional[ArrayLike] = None,
                kernel: str = "cosine", sigma: Optional[float] = None,
                q: Optional[float] = None, path: str = "auto", single_precision: bool = False,
                out: Any = None, out_dtype: str = "float64",
                context: Optional[Context] = None) -> Any:
    """Vendi scores of many small sets in one call: ``x`` ``[S, n, d]`` (or
    ``kernel_matrix`` ``[S, n, n]``).  Returns ``[S]`` scores in the input's
    framework and device.  Options as for :func:`vendi`.

    >>> infoest.vendi_batch(np.stack([np.eye(4), np.ones((4, 4))]))
    array([4., 1.])
    """
    arr, kc, sg = _kernel_args(x, kernel_matrix, kernel, sigma)
    call = _Call(context, arr)
    o = out if out is not None else _empty(call, _shape(arr)[:1],
                                           _out_dtype(out_dtype, ("float64", "float32")))
    _ext.vendi_batch(call.ctx._c, _arg(call, arr, "x"), _out_arg(call, o), kc, sg,
                     _real("q", q) if q is not None else None, _choice("path", path, _PATH),
                     bool(single_precision), call.stream)
    return o if out is not None else _finish(call, o)


def matrix_entropy(x: Optional[ArrayLike] = None, *, kernel_matrix: Optional[ArrayLike] = None,
                   kernel: str = "cosine", sigma: Optional[float] = None,
                   alpha: Optional[float] = None, path: str = "auto",
                   single_precision: bool = False, details: bool = False,
                   context: Optional[Context] = None) -> Union[float, SpectralResult]:
    """Matrix-based Rényi α-entropy, in nats: ``S_α(A) = log(Σ λ̂_i^α)/(1 − α)``,
    λ̂ the eigenvalues of ``A = K/tr K``; α = 1 (default) is von Neumann
    ``−Σ λ̂ log λ̂``.  Inputs and options as for :func:`vendi`.

    >>> round(infoest.matrix_entropy(np.eye(4)), 9)       # log 4
    1.386294361
    """
    arr, kc, sg = _kernel_args(x, kernel_matrix, kernel, sigma)
    call = _Call(context, arr)
    r = _ext.matrix_measure(call.ctx._c, 0, _arg(call, arr, "x"), None, kc, sg, None, 0.0,
                            _real("alpha", alpha) if alpha is not None else None,
                            _choice("path", path, _PATH), bool(single_precision), call.stream)
    return _spectral_out(r, details)


def _matrix_pair(which: int, x: ArrayLike, y: ArrayLike, kernel: str, sigma: Optional[float],
                 kernel_y: Optional[str], sigma_y: Optional[float], alpha: Optional[float],
                 single_precision: bool, details: bool, context: Optional[Context]) -> Any:
    _, kc, sg = _kernel_args(x, None, kernel, sigma)
    if kc == 2:
        raise OptionError("kernel='precomputed' is not taken here: give samples x and y")
    ky, sy = None, 0.0
    if kernel_y is not None or sigma_y is not None:
        _, ky, sy = _kernel_args(y, None, kernel_y if kernel_y is not None else kernel, sigma_y)
    call = _Call(context, x)
    r = _ext.matrix_measure(call.ctx._c, which, _arg(call, _points(x), "x"),
                            _arg(call, _points(y), "y"), kc, sg, ky, sy,
                            _real("alpha", alpha) if alpha is not None else None, 0,
                            bool(single_precision), call.stream)
    return _spectral_out(r, details)


def matrix_joint_entropy(x: ArrayLike, y: ArrayLike, *, kernel: str = "cosine",
                         sigma: Optional[float] = None, kernel_y: Optional[str] = None,
                         sigma_y: Optional[float] = None, alpha: Optional[float] = None,
                         single_precision: bool = False, details: bool = False,
                         context: Optional[Context] = None) -> Union[float, SpectralResult]:
    """Matrix-based joint entropy of paired samples ``x`` ``[n, dx]``, ``y``
    ``[n, dy]``: ``S_α(A∘B / tr(A∘B))`` (Hadamard product of the two kernel
    matrices).  ``kernel``/``sigma`` for x (and y unless ``kernel_y``/``sigma_y``).

    >>> x = np.eye(4); round(infoest.matrix_joint_entropy(x, x), 9)
    1.386294361
    """
    return _matrix_pair(1, x, y, kernel, sigma, kernel_y, sigma_y, alpha, single_precision,
                        details, context)


def matrix_mutual_information(x: ArrayLike, y: ArrayLike, *, kernel: str = "cosine",
                              sigma: Optional[float] = None, kernel_y: Optional[str] = None,
                              sigma_y: Optional[float] = None, alpha: Optional[float] = None,
                              single_precision: bool = False, details: bool = False,
                              context: Optional[Context] = None
                              ) -> Union[float, SpectralResult]:
    """Matrix-based mutual information, in nats:
    ``I = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B))``.  Options as for
    :func:`matrix_joint_entropy`.

    >>> x = np.eye(4); round(infoest.matrix_mutual_information(x, x), 9)   # log 4
    1.386294361
    """
    return _matrix_pair(2, x, y, kernel, sigma, kernel_y, sigma_y, alpha, single_precision,
                        details, context)

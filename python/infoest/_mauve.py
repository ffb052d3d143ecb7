"""MAUVE: divergence frontiers between two samples (docs/SPEC.md §8)."""
from __future__ import annotations

from typing import Any, List, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import _ext
from ._context import Context, _arg, _Call
from ._errors import OptionError
from ._options import integer as _integer, real as _real, seed as _seed

__all__ = ["mauve", "mauve_histograms", "MauveResult", "mauve_default_clusters"]

ArrayLike = Any


class MauveResult(NamedTuple):
    """What :func:`mauve` and :func:`mauve_histograms` return with
    ``details=True``.  Scores are means over the seed ensemble (``seeds=``),
    ``*_std`` their sample standard deviations (0 with one seed);
    ``divergence_curve``, ``p_hist`` and ``q_hist`` are those of the first
    seed.  The clustering fields are None for given histograms."""
    mauve: float                   #: area under the frontier, in (0, 1]
    frontier_integral: float       #: the frontier integral (0 for equal distributions)
    mauve_star: float              #: MAUVE of the histograms + ½ in every bin
    frontier_integral_star: float  #: the frontier integral of those
    mauve_std: float
    frontier_integral_std: float
    mauve_star_std: float
    frontier_integral_star_std: float
    divergence_curve: Any          #: [grid + 2, 2] points (x, y) of the frontier
    p_hist: Any                    #: P's rows in each cluster (int64 [k]; given: as given)
    q_hist: Any                    #: Q's rows in each cluster
    clusters: Optional[int] = None      #: k
    pca_dims: Optional[int] = None      #: principal components kept
    explained: Optional[float] = None   #: their share of the variance
    inertia: Optional[float] = None     #: Σ‖y − c‖² of the kept k-means start, first seed
    iterations: Optional[int] = None    #: Lloyd iterations of that start


def mauve_default_clusters(n_p: int, n_q: int) -> int:
    """The default k of :func:`mauve`: ``max(2, round(min(n_p, n_q) / 10))``.

    >>> infoest.mauve_default_clusters(5000, 5000)
    500
    """
    return int(_ext.mauve_default_clusters(_integer("n_p", n_p), _integer("n_q", n_q)))


def _rows(x: Any) -> int:
    s = x.shape if hasattr(x, "shape") else np.shape(x)
    return int(s[0]) if len(s) else 0


def _grid_scaling(grid: int, scaling: float) -> tuple:
    g = _integer("grid", grid, 2)
    c = _real("scaling", scaling)
    if not c > 0 or c == float("inf"):
        raise OptionError(f"scaling must be > 0 and finite, not {scaling!r}")
    return g, c


def mauve_histograms(p_hist: ArrayLike, q_hist: ArrayLike, *, grid: int = 25,
                     scaling: float = 5.0, details: bool = False,
                     context: Optional[Context] = None) -> Union[float, MauveResult]:
    """MAUVE of two given histograms (the ``infoest mauve --p-hist --q-hist``
    command): steps 5 on of docs/SPEC.md §8, as mauve-text 0.4 computes them.

    With ``p = p_hist / Σ p_hist`` and ``q = q_hist / Σ q_hist`` (1-D
    ``[k]`` non-negative weights, normally counts; int or float, host memory)
    and ``R = λ·p + (1 − λ)·q`` for λ on ``linspace(1e-6, 1 − 1e-6, grid)``,
    the divergence frontier is the curve of the points
    ``(exp(−c·KL(q‖R)), exp(−c·KL(p‖R)))`` (``c = scaling``) with the end
    points ``(1, 0)`` and ``(0, 1)``; ``mauve`` is the mean of the areas
    under y(x) and under x(y) (trapezoids).  The frontier integral is
    ``2·Σ_i [(p_i + q_i)/4 − ½·p_i q_i (log p_i − log q_i)/(p_i − q_i)]``
    (a bin with one side 0 adds the other / 4; one with
    ``|p_i − q_i| ≤ 1e-8`` adds 0).  The ``*_star`` scores are the same on
    the counts + ½ in every bin.

    Returns the MAUVE score (a float), or with ``details=True`` a
    :class:`MauveResult` (with the frontier in ``divergence_curve``).

    >>> round(infoest.mauve_histograms([3, 9, 1, 0, 4], [6, 18, 2, 0, 8]), 12)   # same shares
    1.0
    >>> infoest.mauve_histograms([5, 3, 0, 0], [0, 0, 2, 8]) < 0.01                # disjoint
    True
    """
    g, c = _grid_scaling(grid, scaling)
    call = _Call(context, p_hist)
    curve = np.empty((g + 2, 2))
    s = _ext.mauve_histograms(call.ctx._c, _arg(call, p_hist, "p_hist", integer=True),
                              _arg(call, q_hist, "q_hist", integer=True), g, c,
                              curve.reshape(-1))
    if not details:
        return s[0]
    return MauveResult(*s, curve, p_hist, q_hist)


def mauve(p_features: ArrayLike, q_features: Union[ArrayLike, Sequence[ArrayLike]], *,
          clusters: Optional[int] = None, seed: int = 0, seeds: int = 1,
          explained_variance: float = 0.9, redo: int = 5, max_iter: int = 500,
          grid: int = 25, scaling: float = 5.0, details: bool = False,
          context: Optional[Context] = None) -> Union[float, MauveResult, List[Any]]:
    """MAUVE of samples ``q_features`` against ``p_features`` (Pillutla et al.
    2021; docs/SPEC.md §8), as mauve-text's ``compute_mauve`` on features.

    ``p_features`` ``[n_p, d]`` and ``q_features`` ``[n_q, d]`` (or a list of
    several Q sets, each scored against P, clustered together) are feature
    vectors (e.g. a language model's embeddings of human and of generated
    text), float32, float16, bfloat16 (float64 on the CPU), host or device.
    Steps: every row scaled to unit L2 norm; PCA of all rows keeping the
    fewest components that explain ``explained_variance`` of the variance;
    k-means (``clusters`` = k, default ``max(2, round(min(n_p, n_q)/10))``,
    k-means++ starts, ``redo`` starts, at most ``max_iter`` Lloyd iterations,
    the lowest inertia kept) seeded by ``seed``; the histograms of P's and
    Q's rows over the clusters; then :func:`mauve_histograms`' frontier and
    its area.  ``seeds=N`` averages N clusterings (seeds ``seed`` ..
    ``seed + N − 1``) and gives their standard deviations.  The same inputs,
    seed and backend give the same clusters, bit for bit.

    Returns the MAUVE score (a float; a list of floats for several Q sets), or
    with ``details=True`` :class:`MauveResult`\\ s (frontier integral, the
    ``*_star`` scores, the histograms and curve of the first seed, the
    clustering).

    >>> rng = np.random.default_rng(0)
    >>> human = rng.standard_normal((400, 32)).astype(np.float32)
    >>> model = (human + 0.05 * rng.standard_normal((400, 32))).astype(np.float32)
    >>> infoest.mauve(human, model, clusters=8) > 0.9             # near P: close to 1
    True
    >>> far = (rng.standard_normal((400, 32)) + 3.0).astype(np.float32)
    >>> [round(s, 2) > 0.9 for s in infoest.mauve(human, [model, far], clusters=8)]
    [True, False]
    """
    several = isinstance(q_features, (list, tuple))
    qs = list(q_features) if several else [q_features]
    if not qs:
        raise OptionError("q_features: no Q set given")
    k = 0 if clusters is None else _integer("clusters", clusters, 2)
    g, c = _grid_scaling(grid, scaling)
    ev = _real("explained_variance", explained_variance)
    if not 0 < ev <= 1:
        raise OptionError(f"explained_variance must be in (0, 1], not {explained_variance!r}")
    sd = _seed(seed)
    call = _Call(context, p_features)
    if not k:   # the default, made here so that the histograms' size is known
        k = mauve_default_clusters(_rows(p_features), min(_rows(q) for q in qs))
    counts = np.zeros((1 + len(qs)) * k, np.int64)
    curves = np.zeros(len(qs) * (g + 2) * 2)
    scores, info = _ext.mauve(call.ctx._c, _arg(call, p_features, "p_features"),
                              [_arg(call, q, "q_features") for q in qs], k, ev,
                              _integer("redo", redo, 1), _integer("max_iter", max_iter, 1),
                              sd, _integer("seeds", seeds, 1), g, c, counts, curves,
                              call.stream)
    if details:
        kk = info[0]
        hist = counts.reshape(1 + len(qs), kk)
        cur = curves.reshape(len(qs), g + 2, 2)
        out: List[Any] = [MauveResult(*s, cur[i], hist[0], hist[1 + i], kk, info[1], info[2],
                                      info[5], info[6]) for i, s in enumerate(scores)]
    else:
        out = [s[0] for s in scores]
    return out if several else out[0]

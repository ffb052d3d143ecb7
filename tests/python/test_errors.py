"""Error paths: each bad input raises the right infoest.Error subclass with
the library's message, leaves no stale state, and the next call works."""
import math
import re

import numpy as np
import pytest

import infoest


def test_hierarchy():
    for cls in (infoest.OptionError, infoest.ShapeError, infoest.DTypeError,
                infoest.NonFiniteError, infoest.NegativeError, infoest.EmptyRowError,
                infoest.LabelError, infoest.EmptyReductionError, infoest.DeviceError):
        assert issubclass(cls, infoest.Error) and issubclass(cls, ValueError)
    assert issubclass(infoest.BackendUnavailable, infoest.Error)
    assert not issubclass(infoest.BackendUnavailable, ValueError)


def test_nonfinite_names_the_row():
    x = np.zeros((5, 8), np.float32)
    x[3, 2] = np.nan
    with pytest.raises(infoest.NonFiniteError, match=r"row 3") as e:
        infoest.entropy(x)
    assert e.value.status == "IE_NONFINITE"
    assert (e.value.tensor, e.value.index, e.value.row, e.value.column) == ("logits", None, 3, 2)
    x[3, 2] = np.inf
    with pytest.raises(infoest.NonFiniteError, match="row 3"):
        infoest.divergence(np.zeros((5, 8), np.float32), x, "kl")
    # no stale error: the next call on the same thread's context succeeds
    assert infoest.entropy(np.zeros((5, 8), np.float32)) == pytest.approx(math.log(8))


def place(e):
    return (e.value.tensor, e.value.index, e.value.row, e.value.column)


def test_failure_place_as_numbers():
    """e.tensor/index/row/column are the library's ie_error_* (None for -1),
    in the input's own shape as the library saw it."""
    q = np.zeros((5, 8))
    q[3, 6] = np.inf
    with pytest.raises(infoest.NonFiniteError) as e:
        infoest.divergence(np.zeros((5, 8)), q, "kl")
    assert place(e) == ("q", None, 3, 6)
    with pytest.raises(infoest.NegativeError) as e:
        infoest.entropy(np.array([[0.5, 0.5, 0.0], [0.5, -0.1, 0.6]]), input="probs")
    assert place(e) == ("probs", None, 1, 1)
    with pytest.raises(infoest.EmptyRowError) as e:       # a row has no column
        infoest.entropy(np.array([[0.0, 0.0], [-np.inf, -np.inf], [-np.inf, -np.inf]]))
    assert place(e) == ("logits", None, 1, None)
    with pytest.raises(infoest.LabelError) as e:          # 1-D: the element is the row
        infoest.nll(np.zeros((3, 4)), np.array([0, 1, 4]))
    assert place(e) == ("labels", None, 2, None)
    with pytest.raises(infoest.OptionError) as e:
        infoest.entropy(np.zeros((3, 4)), row_weights=np.array([1.0, -1.0, 1.0]))
    assert place(e) == ("row_weights", None, 1, None)
    # [batch, seq, V] is seen as [batch*seq, V]: x[1, 2, 5] is row 1*4 + 2
    x = np.zeros((2, 4, 8), np.float32)
    x[1, 2, 5] = np.nan
    x[1, 3, 0] = np.nan                                   # the first bad row is named
    with pytest.raises(infoest.NonFiniteError) as e:
        infoest.entropy(x)
    assert place(e) == ("logits", None, 6, 5)
    # a batch of problems: index is the problem
    c = np.ones((2, 3, 3))
    c[1, 2, 0] = np.nan
    with pytest.raises(infoest.NonFiniteError) as e:
        infoest.sinkhorn(np.ones((2, 3)) / 3, np.ones((2, 3)) / 3, c, epsilon=0.1)
    assert place(e) == ("cost", 1, 2, 0)
    pts = np.random.default_rng(1).standard_normal((10, 2))
    pts[7, 1] = np.nan
    with pytest.raises(infoest.NonFiniteError) as e:
        infoest.knn_entropy(pts, k=2)
    assert place(e) == ("x", None, 7, 1)


def test_failure_with_no_place_names_none():
    # the library's shape check, an option refused in Python, a layout refused
    # in the binding, and one refused by the library after a failure with a place
    x = np.zeros((4, 3))
    x[2, 1] = np.nan
    with pytest.raises(infoest.NonFiniteError):
        infoest.entropy(x)
    cases = [
        (infoest.ShapeError, lambda: infoest.divergence(np.zeros((4, 3)), np.zeros((4, 2)), "kl")),
        (infoest.OptionError, lambda: infoest.divergence(x, x, "nope")),
        (infoest.ShapeError, lambda: infoest.entropy(np.zeros((4, 16), np.float32)[:, ::2])),
        (infoest.OptionError, lambda: infoest.divergence(np.zeros((2, 3)), np.zeros((2, 3)),
                                                         "renyi", alpha=-1.0)),
    ]
    for cls, f in cases:
        with pytest.raises(cls) as e:
            f()
        assert place(e) == (None, None, None, None), (e.value, place(e))


def test_value_errors():
    p = np.array([[0.5, -0.1, 0.6]])
    with pytest.raises(infoest.NegativeError, match="row 0"):
        infoest.entropy(p, input="probs")
    with pytest.raises(infoest.EmptyRowError, match="row 1"):
        infoest.entropy(np.array([[0.0, 0.0], [-np.inf, -np.inf]]))
    with pytest.raises(infoest.LabelError, match="row 1"):
        infoest.nll(np.zeros((2, 4)), np.array([0, 4]))
    with pytest.raises(infoest.EmptyReductionError):
        infoest.entropy(np.zeros((2, 4)), row_weights=np.zeros(2, dtype=bool))
    with pytest.raises(infoest.EmptyReductionError):
        infoest.nll(np.zeros((2, 4)), np.array([-1, -1]), ignore_index=-1)


def test_layout_and_dtype_errors_say_what_to_do():
    x = np.zeros((4, 16), np.float32)
    with pytest.raises(infoest.ShapeError, match=r"contiguous.*ascontiguousarray"):
        infoest.entropy(x[:, ::2])
    with pytest.raises(ValueError, match="contiguous"):
        infoest.log_softmax(np.asfortranarray(x))
    with pytest.raises(infoest.DTypeError):
        infoest.entropy(np.zeros((4, 16), np.int32))
    with pytest.raises(infoest.DTypeError):
        infoest.entropy(np.zeros((4, 16), np.complex64))
    with pytest.raises(infoest.ShapeError):
        infoest.divergence(np.zeros((4, 16)), np.zeros((4, 15)), "kl")
    with pytest.raises(infoest.ShapeError):
        infoest.nll(np.zeros((4, 16)), np.zeros(3, np.int64))
    # leading dimensions that cannot be rows without a copy
    y = np.zeros((4, 6, 16), np.float32)[:, ::2, :]
    assert infoest.entropy(y, reduction="none").shape == (4, 3)   # evenly strided: fine
    z = np.zeros((4, 6, 16), np.float32).transpose(1, 0, 2)
    with pytest.raises(infoest.ShapeError, match="leading dimensions"):
        infoest.entropy(z)


def test_option_errors():
    x = np.zeros((2, 4))
    cases = [
        lambda: infoest.divergence(x, x, "nope"),
        lambda: infoest.divergence(x, x, "renyi"),                 # needs alpha
        lambda: infoest.divergence(x, x, "kl", alpha=2.0),         # alpha does not apply
        lambda: infoest.divergence(x, x, "js", beta=1.5),
        lambda: infoest.divergence(x, x, "renyi", alpha=-1.0),      # the library's check
        lambda: infoest.entropy(x, kind="renyi"),
        lambda: infoest.entropy(x, input="logprobs"),
        lambda: infoest.entropy(x, temperature=0),
        lambda: infoest.entropy(x, reduction="max"),
        lambda: infoest.sinkhorn(np.ones(3), np.ones(3), np.ones((3, 3)), epsilon=-1.0),
        lambda: infoest.sinkhorn(np.ones(3), np.ones(3), epsilon=1.0),
        lambda: infoest.knn_entropy(np.zeros((10, 2)) + np.arange(10)[:, None], k=0),
        lambda: infoest.vendi(np.ones((4, 2)), kernel="rbf"),
        lambda: infoest.vendi(np.ones((4, 2)), kernel="poly"),
        lambda: infoest.Context(backend="tpu"),
    ]
    for f in cases:
        with pytest.raises(infoest.OptionError):
            f()
    with pytest.raises(infoest.OptionError, match="alpha"):
        infoest.divergence(x, x, "renyi", alpha=-1.0)


def test_library_messages_pass_through():
    # duplicates in a kNN estimate: the library's message, with its advice
    X = np.repeat(np.arange(5.0)[:, None], 4, axis=0)
    with pytest.raises(infoest.OptionError, match=r"(?i)jitter|duplicate|distance 0"):
        infoest.knn_entropy(X, k=2)
    # the jitter option separates them
    assert math.isfinite(infoest.knn_entropy(X, k=2, jitter=1e-6, seed=1))
    with pytest.raises(infoest.OptionError, match="symmetric|diagonal"):
        infoest.vendi(kernel_matrix=np.array([[1.0, 0.2], [0.3, 1.0]]))
    with pytest.raises(infoest.NegativeError):
        infoest.sinkhorn(np.array([1.0, -1.0, 1.0]), np.ones(3), np.ones((3, 3)), epsilon=0.1)


def test_backend_unavailable():
    if "cuda" in infoest.backends():
        pytest.skip("CUDA is built here: whether a device exists decides")
    with pytest.raises(infoest.BackendUnavailable, match=re.compile("cuda", re.I)):
        infoest.Context(backend="cuda")


def test_not_an_array():
    with pytest.raises(infoest.OptionError):
        infoest.entropy(3.0)
    with pytest.raises(infoest.OptionError):
        infoest.entropy({"a": 1})
    with pytest.raises(infoest.OptionError):
        infoest.entropy([["a", "b"]])


def test_help_shows_formula_and_example():
    doc = infoest.divergence.__doc__
    assert "Σ p_i log(p_i/q_i)" in doc and ">>> " in doc and "reduction" in doc
    for f in (infoest.entropy, infoest.nll, infoest.sinkhorn, infoest.knn_entropy,
              infoest.knn_divergence, infoest.knn_mutual_information, infoest.vendi,
              infoest.matrix_entropy, infoest.log_softmax, infoest.mauve,
              infoest.mauve_histograms, infoest.count_pairs, infoest.pmi, infoest.table_mi,
              infoest.pid, infoest.pid_gaussian, infoest.pid_pointwise, infoest.Partial,
              infoest.merge_partials):
        assert ">>> " in f.__doc__, f.__name__


def test_docstring_examples_run():
    import doctest
    import infoest._api as api
    import infoest._errors as errors
    import infoest._partial as partial
    import infoest._mauve as mauve
    import infoest._discrete as discrete
    for mod, least in ((api, 20), (errors, 2), (partial, 5), (mauve, 5), (discrete, 10)):
        r = doctest.testmod(mod, extraglobs={"np": np, "infoest": infoest},
                            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert r.attempted >= least and r.failed == 0, (mod.__name__, r)


def test_no_rows_and_all_masked_with_reduction_none():
    got = infoest.entropy(np.zeros((0, 4), np.float32), reduction="none")
    assert got.shape == (0,)
    got = infoest.entropy(np.zeros((2, 4)), row_weights=np.zeros(2, bool), reduction="none")
    assert got.shape == (2,)
    with pytest.raises(infoest.EmptyReductionError):
        infoest.entropy(np.zeros((0, 4), np.float32))


def test_read_only_out_is_refused():
    out = np.zeros(2)
    out.setflags(write=False)
    with pytest.raises(infoest.OptionError, match="read-only"):
        infoest.entropy(np.zeros((2, 4)), reduction="none", out=out)
    assert (out == 0).all()


def test_float64_logit_over_temperature_past_double_range():
    # x/T of a finite float64 logit past DBL_MAX is a +inf logit: an error
    # that names it, on every row op (before: NaN or a wrong value as a result)
    x = np.array([[0.0, 1.0], [1e308, -1e308]])
    for call in (lambda: infoest.log_softmax(x, temperature=0.5),
                 lambda: infoest.entropy(x, temperature=0.5),
                 lambda: infoest.divergence(np.zeros((2, 2)), x, "kl", temperature=0.5)):
        with pytest.raises(infoest.NonFiniteError, match="logit 1e[+]308 over the temperature [(]0.5[)] "
                                                         "passes double's range") as e:
            call()
        assert place(e)[2:] == (1, 0)
    # T = 1 cannot pass it, and -1e308/T is probability 0 (as -inf)
    assert infoest.log_softmax(x)[1, 1] == -np.inf
    assert infoest.entropy(np.array([[0.0, -1e308]]), temperature=0.5) == 0.0

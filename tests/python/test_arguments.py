"""Sums over zero kept
rows, arguments of the wrong type or dtype, `context=` that is no Context,
dtype names and hints in messages, shapes that only agree once flattened,
and the hints of layout and option errors."""
import math

import numpy as np
import pytest

import infoest


def _no_raw_nanobind(excinfo):
    assert "incompatible function arguments" not in str(excinfo.value)


# ---- a sum over zero kept rows is 0.0; a mean over them an error -------------------------

def _zero_kept_calls(reduction, **kw):
    z = np.zeros((4, 10))
    return [
        lambda: infoest.nll(z, np.full(4, -100), ignore_index=-100, reduction=reduction, **kw),
        lambda: infoest.entropy(np.zeros((0, 10)), reduction=reduction, **kw),
        lambda: infoest.entropy(z, row_weights=np.zeros(4), reduction=reduction, **kw),
        lambda: infoest.entropy(z, row_weights=np.zeros(4, bool), reduction=reduction, **kw),
        lambda: infoest.nll(z, np.zeros(4, np.int64), row_weights=np.zeros(4), reduction=reduction,
                            **kw),
        lambda: infoest.divergence(np.zeros((0, 10)), np.zeros((0, 10)), reduction=reduction,
                                   **kw),                                  # host fast path
        lambda: infoest.divergence(z, z, "renyi", alpha=2.0, reduction=reduction, **kw,
                                   row_weights=np.zeros(4)),               # general path
        lambda: infoest.divergence(z.astype(np.float32), z, "js", reduction=reduction, **kw,
                                   row_weights=np.zeros(4, np.int32)),
    ]


def test_sum_over_zero_kept_rows_is_zero():
    for f in _zero_kept_calls("sum"):
        v = f()
        assert type(v) is float and v == 0.0 and not math.copysign(1.0, v) < 0
    for f in _zero_kept_calls("mean"):
        with pytest.raises(infoest.EmptyReductionError, match="mean"):
            f()


def test_sum_over_zero_kept_rows_with_a_partial_state():
    st = infoest.Partial()
    z = np.zeros((4, 10))
    assert infoest.nll(z, np.full(4, -100), ignore_index=-100, reduction="sum", partial=st,
                       first_row=3) == 0.0
    assert (st.row_begin, st.row_end, st.rows_kept) == (3, 7, 0)
    with pytest.raises(infoest.EmptyReductionError):
        infoest.nll(z, np.full(4, -100), ignore_index=-100, partial=infoest.Partial())


def test_sum_with_kept_rows_keeps_its_bits(rng):
    x = rng.standard_normal((37, 300)).astype(np.float32)
    y = rng.standard_normal((37, 300))
    w = rng.random(37)
    w[::4] = 0.0
    labels = rng.integers(0, 300, size=37)
    labels[::5] = -100
    # unweighted: the correctly rounded sum of the per-row values (SPEC §11)
    for got, rows in [
        (infoest.entropy(x, reduction="sum"), infoest.entropy(x, reduction="none")),
        (infoest.divergence(x, y, "kl", reduction="sum"),
         infoest.divergence(x, y, "kl", reduction="none")),
        (infoest.divergence(x, y, "renyi", alpha=0.5, reduction="sum"),
         infoest.divergence(x, y, "renyi", alpha=0.5, reduction="none")),
        (infoest.nll(x, labels, ignore_index=-100, reduction="sum"),
         infoest.nll(x, labels, ignore_index=-100, reduction="none")),
    ]:
        assert got == math.fsum(rows)
    # weighted, and through the general divergence path: the state's sum, bit for bit
    for call in (lambda **k: infoest.entropy(x, row_weights=w, **k),
                 lambda **k: infoest.nll(x, labels, ignore_index=-100, row_weights=w, **k),
                 lambda **k: infoest.divergence(x, y, "js", row_weights=w, **k)):
        s = call(reduction="sum")
        assert s == call(partial=True).finalize().sum
        st = infoest.Partial()
        assert call(reduction="sum", partial=st) == s and st.finalize().sum == s
        assert call(reduction="mean") == call(partial=True).finalize().mean


# ---- wrong dtypes and wrong types name the argument -------------------------------------

_BAD_DTYPES = [np.dtype(">f4"), np.dtype(">f8"), np.dtype(">i8"), np.dtype(object)]


def _public_calls(m, v):
    """(call, argument name): the matrix `m` [4, 6] or the vector `v` [4] as
    one argument of each public function."""
    ok, ok1 = np.zeros((4, 6)), np.ones(4)
    pts = np.random.default_rng(0).standard_normal((20, 2))
    return [
        (lambda: infoest.log_softmax(m), "logits"),
        (lambda: infoest.softmax(m), "logits"),
        (lambda: infoest.logsumexp(m), "logits"),
        (lambda: infoest.nll(m, np.zeros(4, np.int64)), "logits"),
        (lambda: infoest.nll(ok, v), "labels"),
        (lambda: infoest.entropy(m), "x"),
        (lambda: infoest.entropy(ok, row_weights=v), "row_weights"),
        (lambda: infoest.divergence(m, ok), "p"),                          # host fast path
        (lambda: infoest.divergence(ok, m), "q"),
        (lambda: infoest.divergence(m, ok, "renyi", alpha=2.0), "p"),      # general path
        (lambda: infoest.divergence(ok, m, "tsallis", alpha=2.0), "q"),
        (lambda: infoest.sinkhorn(v, ok1, np.ones((4, 4)), epsilon=0.1), "a"),
        (lambda: infoest.sinkhorn(ok1, ok1, m[:, :4], epsilon=0.1), "cost"),
        (lambda: infoest.knn(m, pts, 2), "queries"),
        (lambda: infoest.knn_entropy(m), "x"),
        (lambda: infoest.knn_divergence(m, pts), "x"),
        (lambda: infoest.knn_mutual_information(pts[:4], m), "y"),
        (lambda: infoest.vendi(m), "x"),
        (lambda: infoest.matrix_entropy(m), "x"),
        (lambda: infoest.matrix_joint_entropy(pts[:4], m), "y"),
        (lambda: infoest.table_mi(m), "counts"),
        (lambda: infoest.pmi(m), "counts"),
        (lambda: infoest.pid(m.reshape(2, 2, 6)), "joint"),
        (lambda: infoest.pid_pointwise(m, ok, ok), "i1"),
        (lambda: infoest.mauve(m, pts), "p_features"),
        (lambda: infoest.mauve_histograms(v, ok1), "p_hist"),
        (lambda: infoest.count_pairs(v, np.zeros(4, np.int64), x_classes=1, y_classes=1), "x"),
        (lambda: infoest.Partial().add(v), "values"),
    ]


def test_dtypes_the_extension_cannot_take_are_dtype_errors():
    for dt in _BAD_DTYPES:
        for f, name in _public_calls(np.zeros((4, 6), dt), np.zeros(4, dt)):
            with pytest.raises(infoest.DTypeError, match=f"'{name}'.*{dt}.*cast it") as e:
                f()
            _no_raw_nanobind(e)
            assert "dtype code" not in str(e.value)


def test_big_endian_message_says_byte_order():
    with pytest.raises(infoest.DTypeError, match=r"'x' has dtype >f4 \(big-endian\).*byte order"
                       r".*x\.astype\(numpy\.float32\)"):
        infoest.entropy(np.zeros((2, 3), ">f4"))
    with pytest.raises(infoest.DTypeError, match=r"labels\.astype\(numpy\.int64\)"):
        infoest.nll(np.zeros((2, 3)), np.zeros(2, ">i8"))


def test_none_and_non_arrays_are_type_errors_naming_the_argument():
    ok = np.zeros((4, 6))
    cases = [
        (lambda: infoest.entropy(None), "x"),
        (lambda: infoest.log_softmax(None), "logits"),
        (lambda: infoest.nll(ok, None), "labels"),
        (lambda: infoest.nll(None, np.zeros(4, np.int64)), "logits"),
        (lambda: infoest.divergence(None, ok), "p"),
        (lambda: infoest.divergence(ok, None), "q"),
        (lambda: infoest.divergence(ok, None, "renyi", alpha=2.0), "q"),
        (lambda: infoest.knn_entropy(None), "x"),
        (lambda: infoest.knn(ok, None, 2), "refs"),
        (lambda: infoest.table_mi(None), "counts"),
        (lambda: infoest.pid(None), "joint"),
        (lambda: infoest.count_pairs(np.zeros(3, np.int64), None, y_classes=2), "y"),
        (lambda: infoest.entropy(ok, reduction="none", out=[0.0] * 4), "out"),
        (lambda: infoest.divergence(ok, ok, "renyi", alpha=2.0, reduction="none", out=[0.0] * 4),
         "out"),
        (lambda: infoest.log_softmax(ok, out=ok.tolist()), "out"),
        (lambda: infoest.count_pairs([0, 1], [1, 0], out=[[0, 0], [0, 0]]), "out"),
        (lambda: infoest.entropy(3.0), "x"),
        (lambda: infoest.entropy({"a": 1}), "x"),
    ]
    for f, name in cases:
        with pytest.raises(TypeError, match=f"'{name}'") as e:
            f()
        _no_raw_nanobind(e)
        assert isinstance(e.value, infoest.ArgumentTypeError)
        assert isinstance(e.value, infoest.OptionError)     # and a ValueError, as before
    # a wrong-dtype output is a dtype error naming it
    with pytest.raises(infoest.DTypeError, match="'out'"):
        infoest.entropy(ok, reduction="none", out=np.zeros(4, ">f8"))


# ---- context= takes a Context ------------------------------------------------------------

def test_context_must_be_a_context():
    x = np.zeros((2, 4), np.float32)
    for f in (lambda: infoest.entropy(x, context="cpu"),
              lambda: infoest.divergence(x, x, context="cpu"),            # host fast path
              lambda: infoest.divergence(x, x, "renyi", alpha=2.0, context="cpu"),
              lambda: infoest.knn_entropy(np.random.default_rng(0).random((9, 1)), context=0),
              lambda: infoest.table_mi(np.eye(2, dtype=np.int64), context="cpu"),
              lambda: infoest.Partial().add(np.zeros(2), context="cpu"),
              lambda: infoest.Partial().finalize(context="cpu")):
        with pytest.raises(TypeError, match=r"context takes an infoest\.Context") as e:
            f()
        assert not isinstance(e.value, AttributeError)


# ---- dtype names and the hint for integer arguments --------------------------------------

def test_dtype_messages_name_the_dtype_and_hint_int64_for_integers():
    with pytest.raises(infoest.DTypeError) as e:
        infoest.nll(np.zeros((2, 3)), np.zeros(2, np.float32))
    msg = str(e.value)
    assert "float32" in msg and "dtype code" not in msg and "lanes" not in msg
    assert "astype(numpy.int64)" in msg and "astype(numpy.float32)" not in msg
    with pytest.raises(infoest.DTypeError, match=r"int16.*astype\(numpy\.int64\)"):
        infoest.nll(np.zeros((2, 3)), np.zeros(2, np.int16))
    with pytest.raises(infoest.DTypeError, match=r"float32.*astype\(numpy\.int64\)"):
        infoest.count_pairs(np.zeros(3, np.float32), np.zeros(3, np.int64), x_classes=1,
                            y_classes=1)
    with pytest.raises(infoest.DTypeError, match=r"uint16.*astype\(numpy\.int64\)"):
        infoest.table_mi(np.ones((2, 2), np.uint16))
    with pytest.raises(infoest.DTypeError, match=r"dtype int16.*astype\(numpy\.float32\)") as e:
        infoest.entropy(np.zeros((2, 3), np.int16))
    assert "dtype code" not in str(e.value)
    with pytest.raises(infoest.DTypeError, match=r"dtype complex64") as e:
        infoest.vendi(np.zeros((3, 3), np.complex64))
    with pytest.raises(infoest.DTypeError, match=r"dtype int64") as e:      # out
        infoest.entropy(np.zeros((2, 3)), reduction="none", out=np.zeros(2, np.int64))


# ---- shapes that agree only once flattened ----------------------------------------------

def test_p_and_q_must_have_one_shape():
    p, q = np.zeros((2, 3, 5)), np.zeros((6, 5))
    for f in (lambda: infoest.divergence(p, q, reduction="none"),               # fast path
              lambda: infoest.divergence(p, q),
              lambda: infoest.divergence(q, p, reduction="sum"),
              lambda: infoest.divergence(p, q, "renyi", alpha=2.0, reduction="none"),
              lambda: infoest.divergence(p.astype(np.float32), q, "kl")):
        with pytest.raises(infoest.ShapeError, match=r"\(2, 3, 5\).*\(6, 5\)|\(6, 5\).*\(2, 3, 5\)"):
            f()
    assert infoest.divergence(p, p.copy(), reduction="none").shape == (2, 3)


def test_labels_must_have_the_logits_leading_shape():
    with pytest.raises(infoest.ShapeError, match=r"\(2, 3\).*\(6, 5\)"):
        infoest.nll(np.zeros((6, 5)), np.zeros((2, 3), np.int64), reduction="none")
    with pytest.raises(infoest.ShapeError, match=r"\(6,\).*\(2, 3, 5\)"):
        infoest.nll(np.zeros((2, 3, 5)), np.zeros(6, np.int64))
    assert infoest.nll(np.zeros((2, 3, 5)), np.zeros((2, 3), np.int64),
                       reduction="none").shape == (2, 3)
    # one row [V]: one label, as a 0-d array or a list of one
    want = math.log(5)
    assert infoest.nll(np.zeros(5), np.array(2)) == pytest.approx(want)
    assert infoest.nll(np.zeros(5), [2]) == pytest.approx(want)


# ---- the hints of layout errors and of table_mi's option ---------------------------------

def test_backward_and_zero_row_strides_say_what_to_do():
    x = np.zeros((4, 3))
    for f in (lambda: infoest.entropy(x[::-1]),
              lambda: infoest.divergence(x[::-1], x),
              lambda: infoest.entropy(np.broadcast_to(np.zeros(3), (4, 3)))):   # stride 0
        with pytest.raises(infoest.ShapeError, match=r"row stride.*ascontiguousarray"):
            f()


def test_table_mi_names_the_python_keyword():
    with pytest.raises(infoest.OptionError, match=r"no_ami") as e:
        infoest.table_mi(np.array([[1.5, 2.0], [3.0, 4.0]]))
    assert "skip_ami" not in str(e.value)
    assert math.isnan(infoest.table_mi(np.array([[1.5, 2.0], [3.0, 4.0]]), no_ami=True).ami)


# ---- empty arrays with any strides; 0-d matrices -------------------------------------------

def _zero_strides(shape, dtype=np.float32):
    """An empty array as NumPy 2 makes it: every stride 0 (any NumPy can)."""
    return np.lib.stride_tricks.as_strided(np.zeros(shape, dtype), strides=(0,) * len(shape))


def test_empty_arrays_with_zero_strides_are_empty_not_bad_layouts():
    z = _zero_strides((0, 5))
    assert z.size == 0 and z.strides == (0, 0)
    assert infoest.entropy(z, reduction="sum") == 0.0
    assert infoest.nll(z, _zero_strides((0,), np.int64), reduction="sum") == 0.0
    assert infoest.divergence(z, _zero_strides((0, 5)), "renyi", alpha=2.0, reduction="sum") == 0.0
    assert infoest.entropy(z, reduction="none").shape == (0,)
    assert infoest.log_softmax(z).shape == (0, 5)
    with pytest.raises(infoest.EmptyReductionError):
        infoest.entropy(z, reduction="mean")


def test_a_0d_array_is_no_distribution():
    for call in (lambda: infoest.entropy(np.array(5.0)),
                 lambda: infoest.entropy(np.float32(1)),
                 lambda: infoest.divergence(np.array(1.0), np.array(2.0)),
                 lambda: infoest.log_softmax(np.array(1.0))):
        with pytest.raises(infoest.Error) as e:
            call()
        _no_raw_nanobind(e)


# ---- integer and number options: an OptionError naming the option --------------------------

def test_integer_options_out_of_range_name_the_option():
    x = np.random.default_rng(3).standard_normal((50, 2))
    f = np.random.default_rng(4).standard_normal((40, 3)).astype(np.float32)
    cases = [
        ("seed", lambda: infoest.knn_entropy(x, jitter=1e-3, seed=-1)),
        ("seed", lambda: infoest.knn_mutual_information(x, x, jitter=1e-3, seed=2 ** 64)),
        ("seed", lambda: infoest.knn_divergence(x, x, jitter=1e-3, seed=1.5)),
        ("seed", lambda: infoest.mauve(f, f, clusters=4, seed=-1)),
        ("k", lambda: infoest.knn_entropy(x, k=2 ** 70)),
        ("k", lambda: infoest.knn_entropy(x, k=True)),
        ("max_iter", lambda: infoest.sinkhorn(np.ones(3), np.ones(3), np.ones((3, 3)), epsilon=0.1,
                                              max_iter=2 ** 70)),
        ("memory_budget", lambda: infoest.sinkhorn(np.ones(3), np.ones(3), np.ones((3, 3)),
                                                   epsilon=0.1, memory_budget=-5)),
        ("ignore_index", lambda: infoest.nll(np.zeros((2, 3)), np.zeros(2, np.int64),
                                             ignore_index=2 ** 63)),
        ("ignore_label", lambda: infoest.count_pairs([0, 1], [1, 0], ignore_label=-2 ** 64)),
        ("x_classes", lambda: infoest.count_pairs([0, 1], [1, 0], x_classes=-1, y_classes=2)),
        ("samples", lambda: infoest.pid_gaussian(np.eye(3), (1, 1, 1), samples=2 ** 80)),
        ("sizes", lambda: infoest.pid_gaussian(np.eye(3), (1, 0, 2))),
        ("first_row", lambda: infoest.Partial(first_row=-3)),
        ("grid", lambda: infoest.mauve_histograms([1, 2], [2, 1], grid=2 ** 70)),
    ]
    cases += [("device", lambda: infoest.Context(device=2 ** 40)),
              ("threads", lambda: infoest.Context(backend="cpu", threads=-1))]
    for name, call in cases:
        with pytest.raises(infoest.OptionError, match=name) as e:
            call()
        _no_raw_nanobind(e)
    with pytest.raises(infoest.OptionError, match=r"k must be an integer <= 9223372036854775807"):
        infoest.knn_entropy(x, k=2 ** 70)


def test_integer_options_take_any_number_with_no_fraction():
    x = np.random.default_rng(5).standard_normal((60, 2))
    want = infoest.knn_entropy(x, k=3)
    for k in (3, 3.0, np.int32(3), np.float32(3), np.array(3.0), np.array(3)):
        assert infoest.knn_entropy(x, k=k) == want, k
    for bad in ("3", 3.5, np.float32(3.5), None):
        with pytest.raises(infoest.OptionError, match="k must be"):
            infoest.knn_entropy(x, k=bad)
    assert infoest.Context(backend="cpu", threads=np.int64(1)).threads == 1


def test_number_options_that_are_no_numbers_name_the_option():
    z = np.zeros((2, 3))
    for name, call in [("temperature", lambda: infoest.entropy(z, temperature="x")),
                       ("alpha", lambda: infoest.divergence(z, z, "renyi", alpha="two")),
                       ("epsilon", lambda: infoest.sinkhorn(np.ones(3), np.ones(3), np.ones((3, 3)),
                                                            epsilon=None)),
                       ("sigma", lambda: infoest.vendi(np.eye(3), kernel="rbf", sigma=[1.0]))]:
        with pytest.raises(infoest.OptionError, match=name):
            call()


def test_empty_label_lists_count_nothing():
    t = infoest.count_pairs([], [])
    assert t.shape == (0, 0) and t.dtype == np.int64
    assert infoest.count_pairs([], [], x_classes=2, y_classes=3).sum() == 0


def test_options_a_kind_does_not_use_are_refused():
    x = np.random.default_rng(6).standard_normal((80, 2))
    with pytest.raises(infoest.OptionError, match="alpha goes with"):
        infoest.knn_divergence(x, x + 1, alpha=2.0)
    with pytest.raises(infoest.OptionError, match="beta goes with"):
        infoest.knn_divergence(x, x + 1, kind="renyi", alpha=2.0, beta=0.3)
    with pytest.raises(infoest.OptionError, match="past a double"):
        infoest.entropy(np.zeros((2, 3)), temperature=10 ** 400)


def test_lists_on_an_opencl_context_are_float32():
    """A list becomes an array the context's backend takes (float32 on a GPU
    backend): it had been float64, which OpenCL refused with a hint to cast
    the list."""
    if "opencl" not in infoest.backends():
        pytest.skip("OpenCL is not built here")
    try:
        ctx = infoest.Context(backend="opencl")
    except infoest.BackendUnavailable as e:
        pytest.skip(f"no OpenCL device: {e}")
    with ctx:
        assert abs(infoest.entropy([[1.0, 2.0], [3.0, 4.0]]) - infoest.entropy(
            np.array([[1, 2], [3, 4]], np.float32))) == 0
        m = infoest.pmi(np.array([[3, 1], [0, 5]], np.int32))   # the map's default dtype: float32 here
        assert m.dtype == np.float32
        np.testing.assert_allclose(m, infoest.pmi(np.array([[3, 1], [0, 5]]), context=infoest.Context("cpu")),
                                   rtol=1e-6)

"""The scikit-learn estimator protocol of KMeans and MiniBatchKMeans, and
their input checks, without scikit-learn: parameters, repr, column names,
refused input, and a run with scikit-learn impossible to import."""

import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from kmeans_core import KMeans, MiniBatchKMeans, NotFittedError

ESTIMATORS = [KMeans, MiniBatchKMeans]
X = np.random.default_rng(0).random((60, 3))


class Frame:
    """The part of a pandas DataFrame the estimators use: ``columns`` and
    ``__array__``."""

    def __init__(self, data, columns):
        self.data, self.columns = np.asarray(data), list(columns)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)


class FakeSparse:
    format = "csr"
    nnz = 3

    def toarray(self):
        return X


# -- parameters and repr ---------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_get_params_returns_every_init_argument(Estimator):
    est = Estimator(5, random_state=3, tol=0.5)
    params = est.get_params()
    assert params["n_clusters"] == 5 and params["random_state"] == 3
    assert params["tol"] == 0.5
    assert Estimator(**params).get_params() == params
    assert est.get_params(deep=False) == params


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_set_params_sets_and_refuses_unknown_names(Estimator):
    est = Estimator()
    assert est.set_params(n_clusters=4, max_iter=7) is est
    assert (est.n_clusters, est.max_iter) == (4, 7)
    with pytest.raises(ValueError, match="Invalid parameter 'n_cluster' for estimator"):
        est.set_params(n_cluster=3)


def test_repr_shows_the_parameters_not_at_their_default_sorted():
    assert repr(KMeans()) == "KMeans()"
    assert repr(KMeans(3, random_state=0)) == "KMeans(n_clusters=3, random_state=0)"
    assert repr(MiniBatchKMeans(batch_size=256, tol=0.01)) == (
        "MiniBatchKMeans(batch_size=256, tol=0.01)")
    assert repr(KMeans(2, init=np.zeros((2, 1)))) == (
        "KMeans(init=array([[0.],\n       [0.]]), n_clusters=2)")


def test_not_fitted_error_is_a_value_error_and_an_attribute_error():
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)


# -- refused input -----------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_complex_input_is_refused(Estimator):
    with pytest.raises(ValueError, match="Complex data not supported: X has dtype "
                                         "complex128"):
        Estimator(2).fit(X + 1j)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_sparse_input_is_refused_with_how_to_densify(Estimator):
    message = r"FakeSparse\); sparse matrices are not supported: .* X.toarray\(\)"
    with pytest.raises(TypeError, match=message):
        Estimator(2).fit(FakeSparse())
    fitted = Estimator(2, random_state=0).fit(X)
    with pytest.raises(TypeError, match="sparse matrices are not supported"):
        fitted.predict(FakeSparse())


def test_scipy_sparse_input_is_refused():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"csr_matrix\); sparse matrices are not"):
        KMeans(2).fit(sparse.csr_matrix(X))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_object_arrays_of_numbers_are_read_as_numbers(Estimator):
    plain = Estimator(3, random_state=0).fit(X)
    objects = Estimator(3, random_state=0).fit(X.astype(object))
    assert_array_equal(objects.cluster_centers_, plain.cluster_centers_)
    bad = X.astype(object)
    bad[4, 1] = "seven"
    with pytest.raises(ValueError, match="dtype object and does not hold only "
                                         "numbers: could not convert string"):
        Estimator(3).fit(bad)


def test_empty_features_message_names_the_shape():
    with pytest.raises(ValueError, match=r"X is empty: 0 feature\(s\) \(shape=\(12, 0\)\)"):
        KMeans(2).fit(np.empty((12, 0)))


def test_predict_on_one_row_says_how_to_reshape():
    km = KMeans(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"ndim=1 .* Reshape your data"):
        km.predict(X[0])


# -- features in and out -------------------------------------------------------------


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_column_names_are_kept_and_checked(Estimator):
    frame = Frame(X, ["r", "g", "b"])
    est = Estimator(4, random_state=0).fit(frame)
    assert est.n_features_in_ == 3
    assert est.feature_names_in_.tolist() == ["r", "g", "b"]
    assert est.feature_names_in_.dtype == object
    plain = Estimator(4, random_state=0).fit(X)
    assert_array_equal(est.cluster_centers_, plain.cluster_centers_)
    assert not hasattr(plain, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_array_equal(est.predict(frame), plain.labels_)
    with pytest.raises(ValueError, match="feature names should match those that "
                                         "were passed during fit.\nFeature names "
                                         "must be in the same order"):
        est.predict(Frame(X, ["r", "b", "g"]))
    with pytest.raises(ValueError, match="unseen at fit time:\n- x\n.*"
                                         "yet now missing:\n- b\n"):
        est.transform(Frame(X, ["r", "g", "x"]))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.predict(X)
    with pytest.warns(UserWarning, match="X has feature names, but"):
        plain.transform(frame)
    # A refit on a plain array forgets the names.
    assert not hasattr(est.fit(X), "feature_names_in_")


def test_column_names_of_mixed_types_are_refused():
    with pytest.raises(TypeError, match=r"\['int', 'str'\] as column name types"):
        KMeans(2).fit(Frame(X, ["a", 1, 2]))
    # Names that are no strings at all are no names (as in scikit-learn).
    assert not hasattr(KMeans(2, random_state=0).fit(Frame(X, [0, 1, 2])),
                       "feature_names_in_")


@pytest.mark.parametrize("Estimator, prefix", [(KMeans, "kmeans"),
                                               (MiniBatchKMeans, "minibatchkmeans")])
def test_get_feature_names_out_names_the_centres(Estimator, prefix):
    with pytest.raises(NotFittedError):
        Estimator(3).get_feature_names_out()
    est = Estimator(3, random_state=0).fit(Frame(X, ["r", "g", "b"]))
    names = est.get_feature_names_out()
    assert names.tolist() == [f"{prefix}{i}" for i in range(3)]
    assert names.dtype == object
    assert_array_equal(est.get_feature_names_out(["r", "g", "b"]), names)
    with pytest.raises(ValueError, match=r"not equal to feature_names_in_: got "
                                         r"\['x', 'g', 'b'\]"):
        est.get_feature_names_out(["x", "g", "b"])
    with pytest.raises(ValueError, match=r"length equal to number of features "
                                         r"\(3\), got 2"):
        Estimator(3, random_state=0).fit(X).get_feature_names_out(["r", "g"])


def test_fitted_estimators_pickle():
    km = KMeans(3, random_state=0).fit(Frame(X, ["r", "g", "b"]))
    again = pickle.loads(pickle.dumps(km))
    assert_array_equal(again.cluster_centers_, km.cluster_centers_)
    assert again.feature_names_in_.tolist() == ["r", "g", "b"]


# -- scikit-learn's parameters -------------------------------------------------------


def test_algorithm_and_copy_x_change_nothing():
    plain = KMeans(4, random_state=0).fit(X)
    for params in ({"algorithm": "elkan"}, {"algorithm": "lloyd", "copy_x": False}):
        X_in = X.copy()
        km = KMeans(4, random_state=0, **params).fit(X_in)
        assert_array_equal(km.cluster_centers_, plain.cluster_centers_)
        assert_array_equal(X_in, X)
    with pytest.raises(ValueError, match="algorithm='full' is not 'lloyd' or 'elkan'"):
        KMeans(2, algorithm="full").fit(X)
    with pytest.raises(ValueError, match="copy_x=1 must be True or False"):
        KMeans(2, copy_x=1).fit(X)


def test_kmeans_verbose_prints_a_line_per_iteration(capsys):
    km = KMeans(3, random_state=0, verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Initialization complete"
    # The initial centres, then one line after each of the n_iter_ updates.
    assert [line.split(",")[0] for line in lines[1:-1]] == [
        f"Iteration {i}" for i in range(km.n_iter_ + 1)]
    assert lines[-1] == f"Converged at iteration {km.n_iter_}"
    assert_array_equal(km.cluster_centers_,
                       KMeans(3, random_state=0).fit(X).cluster_centers_)
    with pytest.raises(ValueError, match="verbose=-1 must be >= 0"):
        KMeans(2, verbose=-1).fit(X)


def test_minibatch_verbose_prints_a_line_per_step(capsys):
    quiet = MiniBatchKMeans(3, batch_size=20, random_state=0, record_history=True).fit(X)
    loud = MiniBatchKMeans(3, batch_size=20, random_state=0, record_history=True,
                           verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == loud.n_steps_
    assert lines[0].startswith("Minibatch step 1/300: inertia estimate ")
    assert_array_equal(loud.cluster_centers_, quiet.cluster_centers_)
    assert len(loud.history_) == len(quiet.history_) == loud.n_steps_ + 1
    loud.partial_fit(X[:40])
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        "Minibatch step 2 of this chunk:")


def test_callable_init_is_called_as_scikit_learn_calls_it():
    calls = []

    def first_rows(X, n_clusters, random_state):
        assert isinstance(random_state, np.random.RandomState)
        calls.append(X.shape)
        return X[:n_clusters]

    km = KMeans(3, init=first_rows, random_state=0).fit(X)
    assert calls == [X.shape] * 10  # n_init="auto": 10 runs, as for "random"
    fixed = KMeans(3, init=X[:3]).fit(X)
    assert_array_equal(km.cluster_centers_, fixed.cluster_centers_)
    calls.clear()
    MiniBatchKMeans(3, init=first_rows, init_size=30, random_state=0).fit(X)
    assert calls == [(30, 3)] * 3  # 3 tries on samples of init_size rows
    with pytest.raises(ValueError, match=r"the array returned by init has shape "
                                         r"\(2, 3\); expected .* \(3, 3\)"):
        KMeans(3, init=lambda X, k, random_state: X[:2]).fit(X)


def test_compute_labels_false_skips_the_labels():
    with_labels = MiniBatchKMeans(3, batch_size=20, random_state=0).fit(X)
    without = MiniBatchKMeans(3, batch_size=20, random_state=0,
                              compute_labels=False).fit(X)
    assert_array_equal(without.cluster_centers_, with_labels.cluster_centers_)
    assert not hasattr(without, "labels_") and not hasattr(without, "inertia_")
    assert_array_equal(without.fit_predict(X), with_labels.labels_)
    assert not hasattr(without.partial_fit(X), "labels_")


def test_init_size_below_n_clusters_warns_and_is_raised():
    with pytest.warns(RuntimeWarning, match="init_size=2 is smaller than "
                                            "n_clusters=4; using 3 \\* n_clusters = 12"):
        small = MiniBatchKMeans(4, init_size=2, batch_size=20, random_state=0).fit(X)
    same = MiniBatchKMeans(4, init_size=12, batch_size=20, random_state=0).fit(X)
    assert_array_equal(small.cluster_centers_, same.cluster_centers_)


# -- without scikit-learn ------------------------------------------------------------


def test_works_when_scikit_learn_cannot_be_imported():
    code = textwrap.dedent("""
        import sys

        class BlockSklearn:
            def find_spec(self, name, path=None, target=None):
                if name == "sklearn" or name.startswith("sklearn."):
                    raise ImportError(f"{name} is blocked for this test")
                return None

        sys.meta_path.insert(0, BlockSklearn())
        try:
            import sklearn  # noqa: F401
        except ImportError:
            pass
        else:
            raise SystemExit("the block does not work")

        import numpy as np
        import kmeans_core
        from kmeans_core import KMeans, MiniBatchKMeans, NotFittedError

        X = np.random.default_rng(0).random((100, 3))
        km = KMeans(2, random_state=0).fit(X)
        mbk = MiniBatchKMeans(2, batch_size=20, random_state=0).fit(X)
        assert km.get_params()["n_clusters"] == 2
        assert km.labels_.shape == (100,) and mbk.predict(X).shape == (100,)
        try:
            KMeans(2).predict(X)
        except NotFittedError as exc:
            assert type(exc) is NotFittedError
        print(repr(km), repr(mbk.set_params(n_clusters=3)))
        assert "sklearn" not in sys.modules
    """)
    result = subprocess.run([sys.executable, "-c", code], check=False,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "KMeans(n_clusters=2, random_state=0) "
        "MiniBatchKMeans(batch_size=20, n_clusters=3, random_state=0)")

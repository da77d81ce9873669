"""KMeans and MiniBatchKMeans as scikit-learn estimators: scikit-learn's own
estimator checks, and the code of a scikit-learn user (pipelines, clone, grid
search, cross-validation) run unchanged."""

import doctest
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

sklearn = pytest.importorskip(
    "sklearn", minversion="1.6",
    reason="scikit-learn >= 1.6 is not installed: its estimator checks and "
    "pipelines cannot run (pip install '.[dev]')")

from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from kmeans_core import KMeans, MiniBatchKMeans
from kmeans_core import NotFittedError as OurNotFittedError

# The checks scikit-learn 1.9.1 itself expects its KMeans and MiniBatchKMeans
# to fail (PER_ESTIMATOR_XFAIL_CHECKS in
# sklearn/utils/_test_common/instance_generator.py): a random fit is not
# expected to give the same result with weights as with repeated rows.
SKLEARN_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight is not equivalent to removing/repeating samples."
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "sample_weight is not equivalent to removing/repeating samples."
    ),
}


def expected_failed_checks(estimator):
    return SKLEARN_XFAIL


with warnings.catch_warnings():
    # Ours do not inherit from sklearn.base.BaseEstimator, on purpose: the
    # package does not depend on scikit-learn.
    warnings.filterwarnings("ignore", "Estimator .* does not inherit", UserWarning)
    # The parameters scikit-learn runs its own checks with
    # (PER_ESTIMATOR_CHECK_PARAMS): small, so the checks stay fast.
    CHECKED = [KMeans(n_clusters=2, n_init=2, max_iter=5),
               MiniBatchKMeans(n_clusters=2, n_init=2, max_iter=5, batch_size=10)]
    sklearn_checks = parametrize_with_checks(
        CHECKED, expected_failed_checks=expected_failed_checks)


@sklearn_checks
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# Checks of column names in and out that scikit-learn runs on its own
# estimators (sklearn/tests/test_common.py) but parametrize_with_checks does
# not generate; the data frame ones skip themselves without pandas.
@pytest.mark.parametrize("estimator", CHECKED, ids=repr)
@pytest.mark.parametrize("check_name", [
    "check_get_feature_names_out_error",
    "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas",
    "check_dataframe_column_names_consistency",
])
def test_scikit_learn_feature_name_checks(estimator, check_name):
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check_name)(type(estimator).__name__, estimator)


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(300, centers=3, random_state=0)


@pytest.mark.parametrize("Estimator", [KMeans, MiniBatchKMeans])
def test_fit_predict_with_y_scores_as_without(Estimator, blobs):
    X, y = blobs
    with_y = Estimator(3, random_state=0).fit_predict(X, y)
    without = Estimator(3, random_state=0).fit_predict(X)
    assert_array_equal(with_y, without)
    assert adjusted_rand_score(y, with_y) == adjusted_rand_score(y, without) > 0.7


def test_pipeline_fit_with_y_gives_the_result_without(blobs):
    X, y = blobs
    with_y = make_pipeline(StandardScaler(), KMeans(3, random_state=0)).fit(X, y)
    without = make_pipeline(StandardScaler(), KMeans(3, random_state=0)).fit(X)
    assert_array_equal(with_y[-1].cluster_centers_, without[-1].cluster_centers_)
    assert_array_equal(with_y.predict(X), without.predict(X))


@pytest.mark.parametrize("estimator", [
    KMeans(4, init="random", n_init=3, tol=1e-3, random_state=1),
    MiniBatchKMeans(4, batch_size=64, compute_labels=False, random_state=2),
])
def test_clone_copies_the_parameters_not_the_fit(estimator, blobs):
    fitted = clone(estimator).fit(blobs[0])
    copy = clone(fitted)
    assert copy.get_params() == estimator.get_params()
    assert not hasattr(copy, "cluster_centers_")


def test_grid_search_and_cross_val_score(blobs):
    X, _ = blobs
    search = GridSearchCV(KMeans(random_state=0), {"n_clusters": [2, 3, 4]}, cv=3)
    search.fit(X)
    # score is minus the inertia: more clusters always score higher.
    assert search.best_params_ == {"n_clusters": 4}
    scores = cross_val_score(MiniBatchKMeans(3, random_state=0), X, cv=3)
    assert scores.shape == (3,) and (scores < 0).all()


def test_not_fitted_error_and_convergence_warning_are_scikit_learns():
    from sklearn.exceptions import ConvergenceWarning, NotFittedError

    with pytest.raises(NotFittedError):
        KMeans(2).predict(np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        MiniBatchKMeans(2).get_feature_names_out()
    try:
        KMeans(2).transform(np.zeros((3, 2)))
    except NotFittedError as exc:  # pickles as both classes too (joblib workers)
        again = pickle.loads(pickle.dumps(exc))
    assert isinstance(again, NotFittedError) and isinstance(again, OurNotFittedError)
    assert again.args == ("this KMeans is not fitted yet; call fit first",)
    X = np.repeat([[0.0, 0.0], [1.0, 1.0]], 10, axis=0)  # 2 distinct points
    with pytest.warns(ConvergenceWarning, match="only 2 distinct clusters"):
        KMeans(3, random_state=0).fit(X)


def test_scikit_learns_kmeans_plusplus_as_init(blobs):
    from sklearn.cluster import kmeans_plusplus

    def init(X, n_clusters, random_state):
        return kmeans_plusplus(X, n_clusters, random_state=random_state)[0]

    X, y = blobs
    km = KMeans(3, init=init, n_init=1, random_state=0).fit(X)
    assert adjusted_rand_score(y, km.labels_) > 0.7


def test_readme_from_scikit_learn_section_runs():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = re.split(r"\n#{2,3} ", readme.split("### From scikit-learn\n", 1)[1])[0]
    blocks = re.findall(r"```pycon\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "no pycon block in README's From scikit-learn section"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    globs = {}
    for i, block in enumerate(blocks):
        test = doctest.DocTestParser().get_doctest(
            block, globs, f"README.md From scikit-learn, block {i}", "README.md", 0)
        assert runner.run(test).failed == 0  # the failing example is printed

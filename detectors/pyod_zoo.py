"""The PyOD zoo through one generic adapter.

:class:`PyODDetector` wraps any PyOD model given by its import path; each registered
``pyod-<name>`` id is a two-line subclass naming the model, its defaults and whether it
needs standardised input. Scores are PyOD's ``decision_function`` (higher = more
anomalous). PyOD's ``contamination`` only sets PyOD's own threshold, which anobench does
not use, so it is never passed.

Five adapters are ``transductive`` (a row's score depends on the batch it is scored in,
measured by :func:`anobench.testing.check_subset_invariant`): COPOD and ECOD rank the
scored batch together with the training rows, SOD, LMDD and COF score the batch alone.
``ecod-inductive`` / ``copod-inductive`` (:mod:`anobench.detectors.ecdf`) score against
the training ECDFs only.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, ClassVar

import numpy as np

from anobench.contract import BaseDetector

__all__ = [
    "ABOD",
    "CBLOF",
    "COF",
    "COPOD",
    "ECOD",
    "HBOS",
    "INNE",
    "KNN",
    "LMDD",
    "LODA",
    "LOF",
    "MCD",
    "OCSVM",
    "PCA",
    "SOD",
    "FeatureBagging",
    "IForest",
    "PyODDetector",
]


def cache_pyod_jit() -> int:
    """Turn on numba's on-disk cache for the JIT functions of the PyOD modules imported so
    far (PyOD compiles them without ``cache=True``: every worker paid 2.7-3.9 s for HBOS
    and CBLOF's distance function on its first fit). Numba keys the cache by the source
    and the argument types and recompiles when either changes; the compiled code is the
    same, so results are unchanged. Functions numba cannot cache are left as they are.
    Returns the number of functions newly cached."""
    import sys

    try:
        from numba.core.caching import NullCache
        from numba.core.dispatcher import Dispatcher
    except ImportError:
        return 0
    done = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("pyod.") or module is None:
            continue
        for value in list(vars(module).values()):
            uncached = isinstance(getattr(value, "_cache", None), NullCache)
            if isinstance(value, Dispatcher) and uncached:
                try:
                    value.enable_caching()
                    done += 1
                except Exception:  # numba refuses some functions (closures, lifted loops)
                    continue
    return done


class PyODDetector(BaseDetector):
    """Generic adapter for a PyOD model.

    Parameters
    ----------
    standardize : bool, optional
        Standardise features on the training data first; defaults to the subclass's
        ``standardize_default``.
    random_state : int, optional
        Passed to models that accept it.
    **params
        Any parameter of the wrapped PyOD class (checked at fit against its signature).
    """

    #: ``"module:Class"`` of the PyOD model
    pyod_model: ClassVar[str] = ""
    standardize_default: ClassVar[bool] = True
    requires: ClassVar[tuple[str, ...]] = ("numpy", "scikit-learn", "pyod", "numba")
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self, standardize: bool | None = None, random_state: int | None = None, **params: Any
    ) -> None:
        self.standardize = self.standardize_default if standardize is None else standardize
        self.random_state = random_state
        self._pyod_params = params
        for key, value in params.items():
            setattr(self, key, value)

    # sklearn reads parameters from the __init__ signature; ours include **params.
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "standardize": self.standardize,
            "random_state": self.random_state,
            **self._pyod_params,
        }

    def set_params(self, **params: Any) -> PyODDetector:
        for key, value in params.items():
            if key not in ("standardize", "random_state"):
                self._pyod_params[key] = value
            setattr(self, key, value)
        return self

    @classmethod
    def warm_up(cls) -> None:
        """Let numba keep PyOD's compiled functions on disk (:func:`cache_pyod_jit`), then
        the default warm-up (a fit on tiny data), which compiles or loads them."""
        cls.model_class()
        cache_pyod_jit()
        super().warm_up()

    @classmethod
    def model_class(cls) -> type:
        """The wrapped PyOD class (imported on demand)."""
        module, _, attr = cls.pyod_model.partition(":")
        return getattr(importlib.import_module(module), attr)

    @classmethod
    def summary(cls) -> str:
        return (
            f"PyOD {cls.pyod_model.rpartition(':')[2]} ({cls.pyod_model}) via the generic adapter"
        )

    @classmethod
    def param_names(cls) -> list[str]:
        own = ["standardize", "random_state"]
        model_params = inspect.signature(cls.model_class()).parameters
        internal = ("self", "contamination", "n_features", *own)
        return own + [p for p in model_params if p not in internal]

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        empty = inspect.Parameter.empty
        model = {
            name: p.default
            for name, p in inspect.signature(cls.model_class()).parameters.items()
            if name in cls.param_names() and p.default is not empty
        }
        own = {"standardize": cls.standardize_default, "random_state": None}
        return {**model, **cls.defaults, **own}

    def _fit(self, X: np.ndarray) -> None:
        model_cls = self.model_class()
        accepted = inspect.signature(model_cls).parameters
        unknown = sorted(set(self._pyod_params) - set(accepted) - {"contamination"})
        if unknown:
            raise ValueError(
                f"{self.name}: unknown parameter(s) {unknown}; "
                f"{model_cls.__name__} accepts {sorted(p for p in accepted if p != 'self')}"
            )
        if "contamination" in self._pyod_params:
            raise ValueError(f"{self.name}: 'contamination' is not a detector parameter here")
        kwargs = {**self.defaults, **self._pyod_params}
        if "random_state" in accepted:
            kwargs["random_state"] = self.random_state
        if "n_features" in accepted and "n_features" not in kwargs:  # e.g. DeepSVDD
            kwargs["n_features"] = X.shape[1]
        self.model_ = model_cls(**kwargs).fit(X)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.decision_function(X))


class IForest(PyODDetector):
    """PyOD's IForest (scikit-learn's IsolationForest behind PyOD's API, PyOD's defaults):
    the column "IForest" of PyOD's and ADBench's tables. anobench's ``iforest`` is the same
    forest through scikit-learn directly."""

    name = "pyod-iforest"
    pyod_model = "pyod.models.iforest:IForest"
    standardize_default = False  # trees are invariant to per-feature scaling


class OCSVM(PyODDetector):
    """PyOD's OCSVM at PyOD's defaults (RBF, ``nu=0.5``, ``gamma="auto"`` = 1/d): the column
    "OCSVM" of PyOD's and ADBench's tables. anobench's ``ocsvm`` defaults to
    ``gamma="scale"``, a different model on unscaled data."""

    name = "pyod-ocsvm"
    pyod_model = "pyod.models.ocsvm:OCSVM"


class COF(PyODDetector):
    """PyOD's COF (connectivity-based outlier factor, PyOD's defaults). Transductive:
    ``decision_function`` recomputes COF among the scored batch alone, ignoring the
    training rows, so a row's score depends on the batch. Its "fast" method holds the
    batch's full pairwise distance matrix: memory grows as n^2."""

    name = "pyod-cof"
    pyod_model = "pyod.models.cof:COF"
    transductive = True


class LOF(PyODDetector):
    name = "pyod-lof"
    pyod_model = "pyod.models.lof:LOF"


class KNN(PyODDetector):
    name = "pyod-knn"
    pyod_model = "pyod.models.knn:KNN"


class HBOS(PyODDetector):
    name = "pyod-hbos"
    pyod_model = "pyod.models.hbos:HBOS"
    standardize_default = False


class COPOD(PyODDetector):
    """PyOD's COPOD. Transductive: ``decision_function`` concatenates the training rows
    with the scored batch and computes the ECDFs and skewness of that union, so a row's
    score moves with the batch; ``copod-inductive`` scores against the training ECDFs only."""

    name = "pyod-copod"
    pyod_model = "pyod.models.copod:COPOD"
    standardize_default = False
    transductive = True


class ECOD(PyODDetector):
    """PyOD's ECOD. Transductive: ``decision_function`` concatenates the training rows
    with the scored batch and computes the ECDFs and skewness of that union, so a row's
    score moves with the batch; ``ecod-inductive`` scores against the training ECDFs only."""

    name = "pyod-ecod"
    pyod_model = "pyod.models.ecod:ECOD"
    standardize_default = False
    transductive = True


class MCD(PyODDetector):
    name = "pyod-mcd"
    pyod_model = "pyod.models.mcd:MCD"
    standardize_default = False


class CBLOF(PyODDetector):
    name = "pyod-cblof"
    pyod_model = "pyod.models.cblof:CBLOF"


class INNE(PyODDetector):
    name = "pyod-inne"
    pyod_model = "pyod.models.inne:INNE"
    standardize_default = False


class LODA(PyODDetector):
    name = "pyod-loda"
    pyod_model = "pyod.models.loda:LODA"


class ABOD(PyODDetector):
    name = "pyod-abod"
    pyod_model = "pyod.models.abod:ABOD"


class FeatureBagging(PyODDetector):
    name = "pyod-featurebagging"
    pyod_model = "pyod.models.feature_bagging:FeatureBagging"


class SOD(PyODDetector):
    """PyOD's SOD. Transductive: it learns nothing in ``fit`` (only the adapter's
    standardisation is fitted on the training rows); ``decision_function`` finds each
    row's shared nearest neighbours among the scored batch itself, so a row's score
    depends on the batch, and a batch of ``n_neighbors`` (default 20) rows or fewer
    cannot be scored."""

    name = "pyod-sod"
    pyod_model = "pyod.models.sod:SOD"
    transductive = True


class LMDD(PyODDetector):
    """PyOD's LMDD. Transductive: it learns nothing in ``fit``; ``decision_function``
    scores a batch by the deviation each row adds within that batch (smoothing factor
    over ``n_iter`` random orderings of the batch), ignoring the training rows.

    A row's score therefore changes with the rows scored alongside it. The training rows
    still matter through the adapter's standardisation (``standardize=True`` by default),
    which is fitted on them: the novelty and unsupervised protocols score the same test
    set, but with scalers fitted on clean vs contaminated training data, which rescales
    the features the dissimilarity measure sums over, so their results differ (they are
    equal only with ``standardize=False``).
    """

    name = "pyod-lmdd"
    pyod_model = "pyod.models.lmdd:LMDD"
    transductive = True

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        # The default 'aad' measure ranks the toy task at AUC ~0.86 only; 'var' exercises
        # the same code path and orientation.
        return {"dis_measure": "var", "n_iter": 10}


class PCA(PyODDetector):
    """PyOD's PCA: the sum of squared projections on every principal axis, each divided by
    its eigenvalue (a Mahalanobis-type distance), unlike anobench's ``pca`` (the
    reconstruction error from the leading components)."""

    name = "pyod-pca"
    pyod_model = "pyod.models.pca:PCA"

"""Adapters that give a foreign outlier estimator anobench's detector contract.

A suite may name a detector by reference (``ref = "sklearn.ensemble:IsolationForest"``,
``"pyod.models.iforest:IForest"`` or ``"path/to/file.py:MyDetector"``). A class that is
already an anobench detector is used as it is; any other class is wrapped here, and the
wrapper keeps the estimator's own constructor parameters (so suites grid over them,
``get_params``/``clone`` work, and the cell id hashes them):

- a PyOD detector (derives from ``pyod.models.base.BaseDetector``): ``decision_function``,
  already higher = more anomalous;
- a scikit-learn outlier estimator (``score_samples`` or ``decision_function``, higher =
  more normal): the score is negated;
- a class with ``fit`` and ``anomaly_score`` that does not derive from
  :class:`~anobench.contract.BaseDetector`: ``anomaly_score`` as it is.

Which source of scores an adapter uses is recorded in its ``score_source``; whether the
orientation is right is checked on toy data at first use
(:func:`anobench.plan.orientation.check_orientation`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from anobench.contract import BaseDetector

__all__ = ["ReferenceAdapter", "adapt", "is_detector_class", "score_source"]


def is_detector_class(obj: Any) -> bool:
    """True for a class following anobench's contract (a :class:`BaseDetector`)."""
    return isinstance(obj, type) and issubclass(obj, BaseDetector)


def _is_pyod(cls: type) -> bool:
    return any(base.__module__.startswith("pyod.") for base in cls.__mro__[1:])


def score_source(cls: type) -> str:
    """Where an adapter takes the anomaly score from: ``"anomaly_score"``,
    ``"decision_function"`` (PyOD: higher = more anomalous), ``"-score_samples"`` or
    ``"-decision_function"`` (scikit-learn: higher = more normal).

    Raises
    ------
    TypeError
        ``cls`` is not a class, or has no ``fit`` or no method that scores rows.
    """
    if not isinstance(cls, type):
        raise TypeError(f"{cls!r} is not a class (a detector reference must name a class)")
    if not callable(getattr(cls, "fit", None)):
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} has no fit method")
    if callable(getattr(cls, "anomaly_score", None)):
        return "anomaly_score"
    if _is_pyod(cls) and callable(getattr(cls, "decision_function", None)):
        return "decision_function"
    if callable(getattr(cls, "score_samples", None)):
        return "-score_samples"
    if callable(getattr(cls, "decision_function", None)):
        return "-decision_function"
    raise TypeError(
        f"{cls.__module__}.{cls.__qualname__} is not an outlier detector: it needs "
        "anomaly_score (anobench), decision_function (PyOD) or score_samples (scikit-learn)"
    )


class ReferenceAdapter(BaseDetector):
    """Base of the adapter classes :func:`adapt` builds; not used on its own.

    The wrapped estimator is built in :meth:`_fit` from the adapter's parameters (the
    estimator's own); scores are higher = more anomalous whatever the estimator's
    orientation.
    """

    estimator_class: ClassVar[type]
    #: see :func:`score_source`
    score_source: ClassVar[str]
    #: the reference the adapter was built from (``module:Class`` or ``file.py:Class``)
    reference: ClassVar[str]
    #: ``rebuild(reference, state)``: an instance from a pickle, made by whoever resolves
    #: references (:func:`anobench.plan.imports.rebuild`)
    rebuild: ClassVar[Callable[[str, dict[str, Any]], Any]]
    _param_names: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def _get_param_names(cls) -> list[str]:
        return sorted(cls._param_names)

    def _fit(self, X: np.ndarray) -> None:
        self.estimator_ = self.estimator_class(**self.get_params()).fit(X)

    def _score(self, X: np.ndarray) -> np.ndarray:
        source = self.score_source
        try:
            method = getattr(self.estimator_, source.lstrip("-"))
        except AttributeError as exc:  # e.g. LocalOutlierFactor(novelty=False)
            hint = " (set novelty = true)" if "novelty" in self.get_params() else ""
            raise ValueError(
                f"{self.estimator_class.__name__} as configured cannot score new rows: {exc}{hint}"
            ) from None
        scores = np.asarray(method(X), dtype=np.float64)
        return -scores if source.startswith("-") else scores

    def __reduce__(self) -> tuple[Any, ...]:
        # the adapter class is made at run time: pickle the reference and rebuild it
        return (type(self).rebuild, (self.reference, self.__dict__.copy()))


def adapt(
    cls: type, reference: str, rebuild: Callable[[str, dict[str, Any]], Any]
) -> type[BaseDetector]:
    """``cls`` itself when it is an anobench detector, else an adapter class named after
    it whose parameters are ``cls``'s constructor parameters.

    Raises
    ------
    TypeError
        ``cls`` is not an outlier detector (:func:`score_source`), or its constructor
        takes ``*args`` (scikit-learn's parameter rules forbid it).
    """
    if is_detector_class(cls):
        return cls
    source = score_source(cls)
    signature = inspect.signature(cls.__init__)  # type: ignore[misc]
    params = [
        p for p in signature.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD
    ]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        raise TypeError(f"{cls.__qualname__}.__init__ takes *args; parameters must be named")
    defaults = {p.name: None if p.default is p.empty else p.default for p in params}
    required = [p.name for p in params if p.default is p.empty]

    def __init__(self: Any, **kwargs: Any) -> None:  # noqa: N807
        unknown = sorted(set(kwargs) - set(defaults))
        if unknown:
            raise TypeError(f"{cls.__qualname__} has no parameter {unknown[0]!r}")
        missing = [name for name in required if name not in kwargs]
        if missing:
            raise TypeError(
                f"{cls.__qualname__} needs the parameter(s) {', '.join(map(repr, missing))} "
                "(they have no default): give them in the suite"
            )
        for name, default in defaults.items():
            setattr(self, name, kwargs.get(name, default))

    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(
                n,
                inspect.Parameter.KEYWORD_ONLY,
                **({} if n in required else {"default": d}),
            )
            for n, d in defaults.items()
        ]
    )
    doc = (inspect.getdoc(cls) or cls.__name__).strip().splitlines()[0]
    return type(
        cls.__name__,
        (ReferenceAdapter,),
        {
            "__init__": __init__,
            "__module__": cls.__module__,
            "__doc__": f"{doc} (adapted from {reference}: {source})",
            "estimator_class": cls,
            "score_source": source,
            "reference": reference,
            "rebuild": staticmethod(rebuild),
            "_param_names": tuple(defaults),
            "name": reference,
            "requires": (),
        },
    )

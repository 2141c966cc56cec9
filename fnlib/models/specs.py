"""What a model configuration is and how it is identified.

A :class:`ModelConfig` names a classifier (:data:`fnlib.catalog.MODELS`), a text variant
(:data:`fnlib.catalog.VARIANTS`), vectorizer settings (:data:`VECTORIZER_DEFAULTS`) and classifier
hyperparameters (:data:`PARAM_SPECS`). It is frozen and canonical: missing settings are filled
with their defaults and values normalised (``C=1`` becomes ``1.0``), so equal configurations
always have equal :attr:`~ModelConfig.config_id`. Configurations with the same text variant and
vectorizer settings share one :attr:`~ModelConfig.feature_key` and therefore their fold features.

:mod:`fnlib.models.zoo` turns a configuration into a scikit-learn Pipeline;
:mod:`fnlib.models.grids` lists the configurations a tuning run tries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fnlib.catalog import MODELS, VARIANTS, settings_id
from fnlib.errors import InputError

__all__ = [
    "PARAM_SPECS",
    "VECTORIZER_DEFAULTS",
    "FeatureSettings",
    "ModelConfig",
    "ParamSpec",
    "vectorizer_settings",
]


@dataclass(frozen=True)
class ParamSpec:
    """How one setting is validated: ``kind`` is float, int, bool or choice."""

    kind: str
    default: Any
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    positive: bool = False
    nullable: bool = False

    def normalise(self, name: str, value: Any) -> Any:
        """Return the canonical value or raise :class:`InputError` saying what is allowed."""
        if isinstance(value, np.generic):  # numpy scalars behave like the Python ones
            value = value.item()
        if value is None and (self.nullable or (self.kind == "choice" and None in self.choices)):
            return None
        if self.kind == "choice":
            for choice in self.choices:
                if value == choice and type(value) is type(choice):
                    return choice
            raise InputError(f"{name} must be one of {list(self.choices)}, got {value!r}")
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise InputError(f"{name} must be true or false, got {value!r}")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise InputError(f"{name} must be a finite number, got {value!r}")
        if self.kind == "int":
            if float(value) != int(value):
                raise InputError(f"{name} must be a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if self.positive and value <= 0:
            raise InputError(f"{name} must be > 0, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise InputError(f"{name} must be >= {self.minimum:g}, got {value!r}")
        return value


_CLASS_WEIGHT = ParamSpec("choice", None, choices=(None, "balanced"))
PARAM_SPECS: dict[str, dict[str, ParamSpec]] = {
    # the first entry of each model is its headline hyperparameter (always shown in labels)
    "nb": {"alpha": ParamSpec("float", 1.0, positive=True)},
    "linsvm": {"C": ParamSpec("float", 1.0, positive=True), "class_weight": _CLASS_WEIGHT},
    "sgd": {
        "alpha": ParamSpec("float", 1e-4, positive=True),
        "loss": ParamSpec("choice", "hinge", choices=("hinge", "log_loss", "modified_huber")),
        "penalty": ParamSpec("choice", "l2", choices=("l2", "l1", "elasticnet")),
        "class_weight": _CLASS_WEIGHT,
    },
    "rf": {
        "min_samples_leaf": ParamSpec("int", 2, minimum=1),
        "n_estimators": ParamSpec("int", 100, minimum=1),
        "max_depth": ParamSpec("int", None, minimum=1, nullable=True),
        "max_features": ParamSpec("choice", "sqrt", choices=("sqrt", "log2")),
        "select_k": ParamSpec("int", 5000, minimum=1, nullable=True),
        "class_weight": ParamSpec("choice", None, choices=(None, "balanced", "balanced_subsample")),
    },
    "logreg": {"C": ParamSpec("float", 1.0, positive=True), "class_weight": _CLASS_WEIGHT},
}
"""Model -> hyperparameter name -> validation and default."""

_VECTORIZER_SPECS: dict[str, ParamSpec] = {
    "ngram_max": ParamSpec("choice", 1, choices=(1, 2)),
    "sublinear_tf": ParamSpec("bool", True),
    "min_df": ParamSpec("int", 2, minimum=1),
    "max_features": ParamSpec("int", None, minimum=1, nullable=True),
}
VECTORIZER_DEFAULTS: dict[str, Any] = {k: v.default for k, v in _VECTORIZER_SPECS.items()}
"""TF-IDF settings: ``ngram_max`` 1 (unigrams) or 2 (uni+bigrams), ``sublinear_tf`` (1+log tf),
``min_df`` (minimum document count, an int >= 1), ``max_features`` (keep the most frequent
terms; ``None`` keeps all)."""


def _canonical(
    section: str, given: Any, specs: Mapping[str, ParamSpec]
) -> tuple[tuple[str, Any], ...]:
    """Validate ``given`` against ``specs`` and return all settings as sorted (name, value) pairs."""
    if given is None:
        given = {}
    if isinstance(given, tuple | list):
        try:
            given = dict(given)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{section} must be a mapping or (name, value) pairs: {exc}") from exc
    if not isinstance(given, Mapping):
        raise InputError(f"{section} must be a mapping of names to values, got {type(given)!r}")
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise InputError(
            f"unknown {section} setting(s) {unknown}; valid: {', '.join(sorted(specs))}"
        )
    return tuple(
        (name, spec.normalise(f"{section}.{name}", given.get(name, spec.default)))
        for name, spec in sorted(specs.items())
    )


def _vectorizer_label(settings: Mapping[str, Any]) -> str:
    parts = ["1gram" if settings["ngram_max"] == 1 else f"1-{settings['ngram_max']}gram"]
    if settings["sublinear_tf"]:
        parts.append("sub")
    parts.append(f"min_df={settings['min_df']}")
    if settings["max_features"] is not None:
        parts.append(f"max_features={settings['max_features']}")
    return " ".join(parts)


def _format(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class FeatureSettings:
    """What determines the features: the text variant and the vectorizer settings."""

    variant: str
    vectorizer: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise InputError(
                f"unknown text variant {self.variant!r}; valid variants: {', '.join(VARIANTS)}"
            )
        object.__setattr__(
            self, "vectorizer", _canonical("vectorizer", self.vectorizer, _VECTORIZER_SPECS)
        )

    @property
    def settings(self) -> dict[str, Any]:
        """The vectorizer settings as a plain dict."""
        return dict(self.vectorizer)

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "vectorizer": self.settings}

    @property
    def feature_key(self) -> str:
        """``feat-<12 hex>``: equal for every configuration that shares these features."""
        return settings_id("feat", self.to_dict())

    @property
    def label(self) -> str:
        return f"{self.variant} {_vectorizer_label(self.settings)}"


@dataclass(frozen=True)
class ModelConfig:
    """One point of the grid: classifier, text variant, vectorizer settings, hyperparameters.

    ``vectorizer`` and ``params`` may be given as mappings; they are stored as sorted tuples of
    (name, value) pairs with every default filled in, so the object is hashable and canonical.
    """

    model: str
    variant: str = "denoised"
    vectorizer: tuple[tuple[str, Any], ...] = field(default=())
    params: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise InputError(f"unknown model {self.model!r}; valid models: {', '.join(MODELS)}")
        features = FeatureSettings(self.variant, self.vectorizer)
        object.__setattr__(self, "vectorizer", features.vectorizer)
        object.__setattr__(
            self, "params", _canonical(f"{self.model} params", self.params, PARAM_SPECS[self.model])
        )

    @property
    def features(self) -> FeatureSettings:
        return FeatureSettings(self.variant, self.vectorizer)

    @property
    def vectorizer_settings(self) -> dict[str, Any]:
        return dict(self.vectorizer)

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form; :meth:`from_dict` reverses it."""
        return {
            "model": self.model,
            "variant": self.variant,
            "vectorizer": self.vectorizer_settings,
            "params": self.param_dict,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Build a configuration from :meth:`to_dict` output (extra keys such as ``config_id``
        are checked, not trusted)."""
        if not isinstance(data, Mapping) or "model" not in data:
            raise InputError(f"a model configuration needs at least a 'model' key, got {data!r}")
        known = {"model", "variant", "vectorizer", "params", "config_id", "feature_key", "label"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown model configuration key(s) {unknown}")
        config = cls(
            model=data["model"],
            variant=data.get("variant", "denoised"),
            vectorizer=data.get("vectorizer") or (),
            params=data.get("params") or (),
        )
        claimed = data.get("config_id")
        if claimed is not None and claimed != config.config_id:
            raise InputError(
                f"configuration id mismatch: the data says {claimed}, its content hashes to "
                f"{config.config_id} (was it edited, or written by a different fnlib?)"
            )
        return config

    @property
    def config_id(self) -> str:
        """``cfg-<12 hex>``: a stable hash of the canonical JSON form."""
        return settings_id("cfg", self.to_dict())

    @property
    def feature_key(self) -> str:
        return self.features.feature_key

    @property
    def label(self) -> str:
        """Readable one-liner, e.g. ``logreg C=1 | denoised 1-2gram sub min_df=2``."""
        specs = PARAM_SPECS[self.model]
        first = next(iter(specs))
        shown = [
            f"{name}={_format(value)}"
            for name, value in self.params
            if name == first or value != specs[name].default
        ]
        return f"{' '.join([self.model, *shown])} | {self.features.label}"


def vectorizer_settings(given: Mapping[str, Any] | FeatureSettings | ModelConfig) -> dict[str, Any]:
    """Canonical vectorizer settings (every default filled in) of a mapping or configuration."""
    if isinstance(given, FeatureSettings | ModelConfig):
        return dict(given.vectorizer)
    return dict(_canonical("vectorizer", given, _VECTORIZER_SPECS))

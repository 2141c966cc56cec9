"""The grids a tuning run tries: lists of :class:`~fnlib.models.specs.ModelConfig`.

:func:`default_grid` is models x variants x {unigram, uni+bigram} x two hyperparameter values;
:func:`small_grid` (``grid=small``) keeps the first hyperparameter value of each, so every
feature setting of the default grid is still tried once per model.
"""

from __future__ import annotations

from typing import Any

from fnlib.catalog import MODELS, VARIANTS
from fnlib.errors import InputError
from fnlib.models.specs import ModelConfig

__all__ = ["default_grid", "small_grid"]

_GRID_VECTORIZERS: tuple[dict[str, Any], ...] = (
    {"ngram_max": 1, "sublinear_tf": True, "min_df": 2},
    {"ngram_max": 2, "sublinear_tf": True, "min_df": 2},
)
_GRID_PARAMS: dict[str, tuple[dict[str, Any], ...]] = {
    "nb": ({"alpha": 0.1}, {"alpha": 1.0}),
    "linsvm": ({"C": 0.3}, {"C": 1.0}),
    "sgd": ({"alpha": 1e-5}, {"alpha": 1e-4}),
    "rf": ({"min_samples_leaf": 2}, {"min_samples_leaf": 5}),
    "logreg": ({"C": 1.0}, {"C": 10.0}),
}


def _grid(
    models: tuple[str, ...] | list[str],
    variants: tuple[str, ...] | list[str],
    vectorizers: tuple[dict[str, Any], ...],
    per_model: int | None,
) -> list[ModelConfig]:
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise InputError(f"unknown model(s) {unknown}; valid models: {', '.join(MODELS)}")
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise InputError(f"unknown text variant(s) {bad}; valid variants: {', '.join(VARIANTS)}")
    if not models or not variants:
        raise InputError("a grid needs at least one model and one text variant")
    return [
        ModelConfig(model, variant, vectorizer, params)
        for model in dict.fromkeys(models)
        for variant in dict.fromkeys(variants)
        for vectorizer in vectorizers
        for params in _GRID_PARAMS[model][:per_model]
    ]


def default_grid(
    models: tuple[str, ...] | list[str] = MODELS,
    variants: tuple[str, ...] | list[str] = VARIANTS,
) -> list[ModelConfig]:
    """Models x variants x {unigram, uni+bigram} x 2 hyperparameter values (40 configs for the
    full zoo, 4 feature keys)."""
    return _grid(models, variants, _GRID_VECTORIZERS, None)


def small_grid(
    models: tuple[str, ...] | list[str] = MODELS,
    variants: tuple[str, ...] | list[str] = VARIANTS,
) -> list[ModelConfig]:
    """One configuration per model and feature setting: the first hyperparameter value of
    :func:`default_grid` (20 configs for the full zoo, 4 feature keys; ``grid=small``)."""
    return _grid(models, variants, _GRID_VECTORIZERS, 1)

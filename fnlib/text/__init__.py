"""Text normalisation as scikit-learn transformers (first step of every model pipeline)."""

from fnlib.text.clean import VARIANTS, TextCleaner, denoise

__all__ = ["VARIANTS", "TextCleaner", "denoise"]

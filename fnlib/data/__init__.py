"""Data layer: sources, validation, leakage scrub, de-duplication and splitting."""

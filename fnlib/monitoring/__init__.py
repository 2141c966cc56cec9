"""Production monitoring: prediction/feedback logs, training reference, drift and performance
reports, the feedback quality gate and a traffic simulator.

Everything here is pure (pandas/numpy/scikit-learn, no S3 or network I/O): the stages in
:mod:`fnlib.stages` read and write the objects. See ``docs/monitoring.md``.
"""

from fnlib.monitoring.drift import (
    SCORE_BIN_EDGES,
    DriftThresholds,
    length_bin_edges,
    length_distribution,
    oov_rate,
    prediction_mix,
    psi,
    score_histogram,
    status_for,
    tokenize,
)
from fnlib.monitoring.feedback import (
    FeedbackLimits,
    attach_texts,
    gate_feedback,
    normalise_label,
    quarantine_summary,
)
from fnlib.monitoring.logs import (
    FEEDBACK_COLUMNS,
    PREDICTION_COLUMNS,
    interval_days,
    make_feedback_rows,
    make_prediction_rows,
    read_log_csv,
    validate_log_frame,
    write_log_csv,
)
from fnlib.monitoring.reference import (
    build_reference,
    find_vectorizer,
    reference_sha256,
    score_texts,
    validate_reference,
)
from fnlib.monitoring.report import monitor_interval, report_row
from fnlib.monitoring.simulate import DayBatch, simulate_traffic

__all__ = [
    "FEEDBACK_COLUMNS",
    "PREDICTION_COLUMNS",
    "SCORE_BIN_EDGES",
    "DayBatch",
    "DriftThresholds",
    "FeedbackLimits",
    "attach_texts",
    "build_reference",
    "find_vectorizer",
    "gate_feedback",
    "interval_days",
    "length_bin_edges",
    "length_distribution",
    "make_feedback_rows",
    "make_prediction_rows",
    "monitor_interval",
    "normalise_label",
    "oov_rate",
    "prediction_mix",
    "psi",
    "quarantine_summary",
    "read_log_csv",
    "reference_sha256",
    "report_row",
    "score_histogram",
    "score_texts",
    "simulate_traffic",
    "status_for",
    "tokenize",
    "validate_log_frame",
    "validate_reference",
    "write_log_csv",
]

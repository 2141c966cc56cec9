"""The catalog: every name, bucket key and id rule of the project, in one module.

DAG files import it at parse time, so it uses the standard library only (a test imports it in
a fresh interpreter and checks that pandas, scikit-learn, boto3 and wandb stay unloaded).

- **Names** the forms, the ``fn`` command and the library share: model families, text
  variants, source layouts, split strategies, grid sizes, tuning and gate metrics. The
  library's own tables (model builders, source loaders, computed metrics) are tested to match.
- **The bucket layout** (one versioned bucket, ``FN_BUCKET``): the folders of committed
  outputs (``raw/``, ``datasets/``, ...), the champion pointer, the retrain-request queue and
  the day-partitioned production folders, as constants and small key functions.
- **Ids**: every id is a content address, ``<prefix>-<hex digits of a sha256>``, minted by
  :func:`make_id`; the rules below say what each kind of id hashes.
"""

from __future__ import annotations

# -- names ---------------------------------------------------------------------------------

MODELS = ("nb", "linsvm", "sgd", "rf", "logreg")
"""Model families: naive Bayes, linear SVM, SGD, random forest, logistic regression."""
VARIANTS = ("raw", "denoised")
"""Text variants a model may be trained on (:mod:`fnlib.text.clean`)."""
SOURCE_NAMES = ("synthetic", "isot", "liar", "fakenewsnet", "csv", "folders", "json")
"""Every source layout, in the order forms and ``fn dataset --help`` show them; the loaders are
``fnlib.data.sources.SOURCES``. ``synthetic`` is generated and takes no path."""
SOURCES_NEEDING_PATH = tuple(s for s in SOURCE_NAMES if s != "synthetic")
SPLIT_STRATEGIES = ("random", "predefined")
"""``random``: stratified and seeded; ``predefined``: the data set's published split."""
GRIDS = ("default", "small")
"""Grid sizes of a tuning run (``small``: one configuration per model and feature setting)."""
TUNING_METRICS = ("f1", "accuracy", "precision", "recall", "roc_auc")
"""What cross-validation computes per fold, and what a tuning run may select by."""
GATE_METRICS = ("f1", "accuracy", "roc_auc")
"""Test metrics the champion/challenger gate may compare."""

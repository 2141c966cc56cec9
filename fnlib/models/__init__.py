"""Model zoo, shared-feature cross-validation, final training and evaluation.

- :mod:`fnlib.models.specs`     what a configuration is (a family of
  :data:`fnlib.catalog.MODELS`, hyperparameters, vectorizer settings) and its ids
- :mod:`fnlib.models.zoo`       a configuration as a scikit-learn ``Pipeline``
- :mod:`fnlib.models.grids`     the grids a tuning run tries (``default``, ``small``)
- :mod:`fnlib.models.folds`     folds, fold features shared per feature key
- :mod:`fnlib.models.fold_tfidf`  exact per-fold TF-IDF (equal to ``TfidfVectorizer``'s)
- :mod:`fnlib.models.feature_store`  fold features shared by processes and machines (local
  cache in front of a content-addressed store in the bucket)
- :mod:`fnlib.models.chunking`  the grid in chunks of configurations sharing one feature key
- :mod:`fnlib.models.cv`        scoring a configuration on fold features, the leaderboard
- :mod:`fnlib.models.scoring`   the score of a classifier (one rule for every caller)
- :mod:`fnlib.models.evaluate`  final fit and held-out evaluation
- :mod:`fnlib.models.explain`   per-prediction reasons of linear models
- :mod:`fnlib.models.card`      the model card's explanation and transfer sections
- :mod:`fnlib.models.plots`     confusion-matrix and curve PNGs (needs matplotlib)

Import names from the module that defines them.
"""

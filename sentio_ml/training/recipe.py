"""The recipe as a cross-validation model: per fold, hold out validation artists from the training
folds, optionally build a synthetic source from the training clips only, train, predict the test fold."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Sequence

from sentio_ml.datasets import Clip, split_train_validation
from sentio_ml.evaluation.crossval import FitPredict, FoldOutput
from sentio_ml.training.batches import SyntheticSource
from sentio_ml.training.cache import FeatureCache
from sentio_ml.training.config import TrainConfig
from sentio_ml.training.loop import StepProgress, predict_as_shipped, train

# (train_clips, feature_cache, fold, seed) -> SyntheticSource; fold is -1 for a final (all-data) model.
SyntheticFactory = Callable[[Sequence[Clip], FeatureCache, int, int], SyntheticSource]


def model_fit_predict(
    cache: FeatureCache,
    config: TrainConfig,
    synthetic_factory: SyntheticFactory | None = None,
    log_root: Path | None = None,
    progress: Callable[[int, StepProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> FitPredict:
    """A FitPredict for `run_cv`. The validation split (for early stopping) and the synthetic source are
    both made from the training folds only; the test fold is touched once, for the final predictions."""

    def fit_predict(train_clips: Sequence[Clip], test_clips: Sequence[Clip], fold: int) -> FoldOutput:
        fit, val = split_train_validation(train_clips, config.validation_fraction, seed=config.seed)
        synthetic = synthetic_factory(fit, cache, fold, config.seed) if synthetic_factory else None
        result = train(
            fit, val, cache, config, synthetic=synthetic,
            progress=(lambda p: progress(fold, p)) if progress else None,
            cancel=cancel,
            log_dir=(log_root / f"fold{fold}") if log_root else None,
        )
        predictions, shares = predict_as_shipped(result, test_clips, cache, device=config.device)
        return FoldOutput(predictions=predictions, history=result.history, shares=shares)

    return fit_predict

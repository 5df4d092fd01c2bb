"""Cross-validation over a dataset's fixed folds, model-agnostic.

A model is a `fit_predict(train_clips, test_clips, fold) -> FoldOutput` callable; the loop collects
out-of-fold predictions, per-fold metrics, learning curves, and summarises mean ± std over folds plus
pooled metrics with bootstrap CIs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from sentio_ml.datasets import Clip, Dataset
from sentio_ml.evaluation.metrics import bootstrap_metrics, evaluate_predictions, flat_metrics


@dataclass
class FoldOutput:
    predictions: np.ndarray  # [N_test, 2] on the unit scale
    history: list[dict] = field(default_factory=list)  # one dict per epoch (learning curves)
    shares: dict[str, list[float]] = field(default_factory=dict)  # each part's variance share on the test fold


@dataclass
class FoldResult:
    fold: int
    clip_ids: list[str]
    y_true: np.ndarray
    y_pred: np.ndarray
    q_true: list[int]
    metrics: dict
    history: list[dict]
    seconds: float
    shares: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class CVResult:
    name: str
    scale: tuple[float, float]
    folds: list[FoldResult]

    def summary(self) -> dict[str, tuple[float, float]]:
        """metric -> (mean, std over folds)."""
        per_fold = [flat_metrics(f.metrics) for f in self.folds]
        keys = per_fold[0].keys() if per_fold else []
        return {k: (float(np.mean([m[k] for m in per_fold])), float(np.std([m[k] for m in per_fold]))) for k in keys}

    def pooled(self) -> dict:
        y_true = np.concatenate([f.y_true for f in self.folds])
        y_pred = np.concatenate([f.y_pred for f in self.folds])
        q_true = [q for f in self.folds for q in f.q_true]
        return evaluate_predictions(y_true, y_pred, q_true, self.scale)

    def pooled_ci(self, n_resamples: int = 1000) -> dict[str, tuple[float, float, float]]:
        y_true = np.concatenate([f.y_true for f in self.folds])
        y_pred = np.concatenate([f.y_pred for f in self.folds])
        q_true = [q for f in self.folds for q in f.q_true]
        return bootstrap_metrics(y_true, y_pred, q_true, n_resamples=n_resamples)

    def mean_shares(self) -> dict[str, list[float]]:
        """Each part's variance share, mean over the folds that report one (empty for models without parts)."""
        reported = [f.shares for f in self.folds if f.shares]
        return {name: np.mean([s[name] for s in reported], axis=0).round(3).tolist() for name in (reported or [{}])[0]}

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "scale": list(self.scale),
            "summary": {k: {"mean": m, "std": s} for k, (m, s) in self.summary().items()},
            "pooled": self.pooled(),
            "pooled_ci95": {k: {"value": p, "low": lo, "high": hi} for k, (p, lo, hi) in self.pooled_ci().items()},
            "folds": [
                {
                    "fold": f.fold,
                    "seconds": round(f.seconds, 1),
                    "metrics": f.metrics,
                    "history": f.history,
                    **({"shares": f.shares} if f.shares else {}),
                    "predictions": [
                        {"clip": cid, "true": t.tolist(), "pred": p.tolist(), "quadrant": q}
                        for cid, t, p, q in zip(f.clip_ids, f.y_true, f.y_pred, f.q_true)
                    ],
                }
                for f in self.folds
            ],
        }


def cv_result_from_dict(model: dict) -> CVResult:
    """A CVResult back from one model entry of a report.json (`CVResult.to_dict`)."""
    folds = [FoldResult(fold=f["fold"], clip_ids=[p["clip"] for p in f["predictions"]],
                        y_true=np.array([p["true"] for p in f["predictions"]], dtype=np.float64),
                        y_pred=np.array([p["pred"] for p in f["predictions"]], dtype=np.float64),
                        q_true=[p["quadrant"] for p in f["predictions"]], metrics=f["metrics"],
                        history=f.get("history", []), seconds=f.get("seconds", 0.0), shares=f.get("shares", {}))
             for f in model["folds"]]
    return CVResult(name=model["name"], scale=tuple(model["scale"]), folds=folds)


FitPredict = Callable[[Sequence[Clip], Sequence[Clip], int], FoldOutput]


def run_cv(
    dataset: Dataset,
    fit_predict: FitPredict,
    name: str,
    folds: Sequence[int] | None = None,
    on_fold: Callable[[FoldResult], None] | None = None,
) -> CVResult:
    """Run `fit_predict` on each fold (all of the dataset's fixed folds by default)."""
    folds = sorted(set(dataset.folds or [])) if folds is None else list(folds)
    results = []
    for fold in folds:
        train, test = dataset.fold_split(fold)
        start = time.time()
        out = fit_predict(train, test, fold)
        y_true = dataset.labels(test)
        q_true = [c.quadrant for c in test]
        result = FoldResult(
            fold=fold,
            clip_ids=[c.clip_id or c.path.stem for c in test],
            y_true=y_true,
            y_pred=np.asarray(out.predictions, dtype=np.float64),
            q_true=q_true,
            metrics=evaluate_predictions(y_true, out.predictions, q_true, dataset.scale),
            history=out.history,
            seconds=time.time() - start,
            shares=out.shares,
        )
        results.append(result)
        if on_fold:
            on_fold(result)
    return CVResult(name=name, scale=dataset.scale, folds=results)


def reference_fit_predict(features: dict[str, np.ndarray], kind: str = "svr", seed: int = 0) -> FitPredict:
    """The librosa + scikit-learn reference as a CV model; `features` maps clip path -> descriptor vector."""
    from sentio_ml.evaluation.reference import make_reference_model

    def fit_predict(train: Sequence[Clip], test: Sequence[Clip], fold: int) -> FoldOutput:
        x_train = np.stack([features[str(c.path)] for c in train])
        y_train = np.array([[c.valence, c.arousal] for c in train])
        model = make_reference_model(kind, seed=seed).fit(x_train, y_train)
        pred = model.predict(np.stack([features[str(c.path)] for c in test]))
        return FoldOutput(predictions=np.clip(pred, 0.0, 1.0))

    return fit_predict

"""Regress valence/arousal and read the quadrant off their signs, or classify the quadrant directly?

On the 4Q folds, with the shipped model's views of each clip's 3 evaluation excerpts (the 102 fbank
descriptors, `sentio_ml.descriptors`; the 127 librosa descriptors at 16 kHz, `sentio_ml.audio_descriptors`;
the pretrained musicnn tagger's 250-number embedding over 3 or 1 patches of 3 s, `sentio_ml.musicnn`),
compares an RBF SVR per dimension (signs → quadrant) with one-vs-rest RBF SVCs of the quadrants (argmax), per
view and with views' decision values averaged, for C = 1 and 3. Rows are excerpts; a clip's prediction
averages its excerpts. Uses the training feature cache (computed on first use: ~4 min for the descriptors,
~6 + 2 min for the two musicnn variants). Prints macro-F1 mean ± std over the folds and per fold.

    .venv/bin/python experiments/regress_vs_classify.py [--data ../shared/data/fourq]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentio_ml.datasets import load_fourq  # noqa: E402
from sentio_ml.descriptors import fbank_descriptors  # noqa: E402
from sentio_ml.evaluation.metrics import quadrant_metrics, quadrants_from_unit  # noqa: E402
from sentio_ml.features import FeatureConfig  # noqa: E402
from sentio_ml.training.batches import ClipCrops  # noqa: E402
from sentio_ml.training.cache import FeatureCache  # noqa: E402

CROPS, FRAMES = 3, 1024


def views(data: ClipCrops) -> dict[str, np.ndarray]:
    """[N, CROPS, D] per view for every clip."""
    def each(view) -> np.ndarray:
        return np.stack([view(i).numpy() for i in range(len(data))])

    return {
        "fbank descriptors": each(lambda i: fbank_descriptors(data.eval_crops(i, FRAMES, CROPS) * 2 * data.cfg.std
                                                             + data.cfg.mean)),
        "librosa descriptors": each(lambda i: data.eval_audio(i, FRAMES, CROPS)),
        "musicnn, 3 patches": each(lambda i: data.eval_musicnn(i, FRAMES, CROPS, 3)),
        "musicnn, 1 patch": each(lambda i: data.eval_musicnn(i, FRAMES, CROPS, 1)),
    }


COMBINATIONS = {  # mean decision values of these views (the quadrant head's argmax)
    "fbank + librosa": ("fbank descriptors", "librosa descriptors"),
    "fbank + librosa + musicnn (3 patches)": ("fbank descriptors", "librosa descriptors", "musicnn, 3 patches"),
    "fbank + librosa + musicnn (1 patch)": ("fbank descriptors", "librosa descriptors", "musicnn, 1 patch"),
}


def out_of_fold(x: np.ndarray, labels: np.ndarray, quadrants: np.ndarray, folds: np.ndarray, c: float, kind: str) -> np.ndarray:
    """Out-of-fold [N, 2] regressions ("svr") or [N, 4] one-vs-rest decision values ("svc"), averaged over crops."""
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    out = np.zeros((len(x), 2 if kind == "svr" else 4))
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        scaler = StandardScaler().fit(x[train].reshape(-1, x.shape[-1]))
        a, b = (scaler.transform(x[m].reshape(-1, x.shape[-1])) for m in (train, test))
        if kind == "svr":
            targets = np.repeat(labels[train], CROPS, axis=0)
            columns = [SVR(C=c, epsilon=0.02).fit(a, targets[:, d]).predict(b) for d in range(2)]
        else:
            targets = np.repeat(quadrants[train], CROPS)
            columns = [SVC(C=c).fit(a, (targets == k).astype(int)).decision_function(b) for k in (1, 2, 3, 4)]
        out[test] = np.stack(columns, axis=1).reshape(test.sum(), CROPS, -1).mean(axis=1)
    return out


def summary(scores: np.ndarray) -> str:
    """The table's last two cells: mean ± std, then the per-fold scores."""
    return f"{scores.mean():.3f} ± {scores.std():.3f} | {np.round(scores, 3).tolist()} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "fourq")
    args = parser.parse_args()
    dataset, cache = load_fourq(args.data), FeatureCache()
    for patches in (3, 1):
        cache.ensure(dataset.clips, audio_windows=(FRAMES, CROPS), musicnn=patches)
    # one normalisation for all clips: it cancels out of the descriptors (they are computed on the raw fbank)
    data = ClipCrops(dataset.clips, cache, FeatureConfig(frames=FRAMES))
    folds, quadrants = np.array(dataset.folds), np.array([c.quadrant for c in dataset.clips])
    by_view = views(data)

    def f1_per_fold(predicted: np.ndarray) -> np.ndarray:
        return np.array([quadrant_metrics(quadrants[folds == f], predicted[folds == f])["macro_f1"] for f in np.unique(folds)])

    print("| descriptors | model | C | macro-F1 (mean ± std) | per fold |\n|---|---|---|---|---|")
    for c in (1.0, 3.0):
        decisions = {}
        for name, x in by_view.items():
            regression = out_of_fold(x, data.labels, quadrants, folds, c, "svr")
            scores = f1_per_fold(quadrants_from_unit(regression))
            print(f"| {name} | SVR, signs | {c:g} | {summary(scores)}")
            decisions[name] = out_of_fold(x, data.labels, quadrants, folds, c, "svc")
            scores = f1_per_fold(decisions[name].argmax(axis=1) + 1)
            print(f"| {name} | one-vs-rest SVC | {c:g} | {summary(scores)}", flush=True)
        for name, members in COMBINATIONS.items():
            scores = f1_per_fold(np.mean([decisions[m] for m in members], axis=0).argmax(axis=1) + 1)
            print(f"| {name} (mean decision values) | one-vs-rest SVC | {c:g} | {summary(scores)}")
    print("\nCommand: .venv/bin/python experiments/regress_vs_classify.py")


if __name__ == "__main__":
    main()

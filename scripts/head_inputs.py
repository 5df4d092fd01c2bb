"""Ablation: which input, and which head, on a frozen distilled student gives the best valence/arousal head?

    python scripts/head_inputs.py --student cache/distill/student [--data ../shared/data/fourq] [--excerpts 6]

Prints the 4Q cross-validated macro-F1 (5 fixed folds) and valence/arousal CCC of `distill heads`' linear probe
(ridge, alpha by inner CV over artists, spread calibration) on several embeddings of the clips' excerpts: the
shipped one (the last layer's mean patch token ⊕ the CLS/distillation pair), that plus every earlier layer's mean
patch token, plus the patch tokens' standard deviation, each half alone, and the student's own predictions of each
teacher's outputs (its distillation projections: the same information, a different space for the ridge penalty).
Then one other head on the shipped embedding: an RBF kernel ridge, its penalty and width chosen by the same inner
CV and calibrated the same way. `--excerpts N` takes N excerpts per clip instead of the Predictor's 3 (the
`--excerpts` option of `sentio-ml predict`), for heads fitted and scored on N. A research check, not part of training.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

KERNEL_GRID = [(alpha, width) for alpha in (0.1, 0.3, 1.0, 3.0) for width in (0.25, 0.5, 1.0, 2.0)]


def embeddings(part, fbank: torch.Tensor) -> dict[str, np.ndarray]:
    """name -> [clips, D]: each variant averaged over a clip's excerpts (fbank [clips, excerpts, frames, mel])."""
    backbone = part.encoder.backbone
    hidden: list[torch.Tensor] = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: hidden.append(out)) for layer in backbone.layers]
    rows: dict[str, list[torch.Tensor]] = {}
    flat = fbank.flatten(0, 1)
    try:
        with torch.inference_mode():
            for first in range(0, len(flat), 64):
                hidden.clear()
                tokens, pooler = backbone(flat[first:first + 64])
                patches = tokens[:, 2:]
                shipped = torch.cat([patches.mean(1), pooler], -1)
                earlier = [backbone.layernorm(h)[:, 2:].mean(1) for h in hidden[:-1]]
                for name, value in {"shipped (last mean token + CLS)": shipped,
                                    "+ earlier layers' mean tokens": torch.cat([shipped, *earlier], -1),
                                    "+ the tokens' std": torch.cat([shipped, patches.std(1)], -1),
                                    "CLS alone": pooler, "mean token alone": patches.mean(1)}.items():
                    rows.setdefault(name, []).append(value)
    finally:
        for hook in hooks:
            hook.remove()
    return {name: torch.cat(value).reshape(fbank.shape[0], fbank.shape[1], -1).mean(1).numpy()
            for name, value in rows.items()}


def predicted_targets(student_dir: Path, shipped: np.ndarray) -> dict[str, np.ndarray]:
    """name -> [clips, D]: the student's projections of the shipped embedding onto each teacher's (standardised)
    outputs, and all of them side by side. Linear, so projecting the excerpts' mean equals averaging theirs."""
    from safetensors.torch import load_file

    weights = load_file(str(student_dir / "student.safetensors"))
    teachers = sorted(k.split(".")[1] for k in weights if k.startswith("projections.") and k.endswith(".weight"))
    outputs = {t: shipped @ weights[f"projections.{t}.weight"].numpy().T + weights[f"projections.{t}.bias"].numpy()
               for t in teachers}
    named = {f"its predictions of {t}'s outputs": value for t, value in outputs.items()}
    if len(outputs) > 1:
        named["its predictions of every teacher's outputs"] = np.concatenate(list(outputs.values()), 1)
    return named


def kernel_ridge(x: np.ndarray, y: np.ndarray, alpha: float, width: float):
    """An RBF kernel ridge on standardised columns, gamma = width / columns; returns its predict function."""
    from sklearn.kernel_ridge import KernelRidge

    mean, std = x.mean(0), x.std(0) + 1e-6
    model = KernelRidge(alpha=alpha, kernel="rbf", gamma=width / x.shape[1]).fit((x - mean) / std, y - y.mean(0))
    return lambda rows: model.predict((rows - mean) / std) + y.mean(0)


def kernel_fit_predict(features: np.ndarray, dataset):
    """A CV model like `probe_fit_predict`, with the kernel ridge's penalty and width chosen by inner CV over artists."""
    from sklearn.model_selection import GroupKFold

    from sentio_ml.distill.finetune import INNER_FOLDS
    from sentio_ml.evaluation.crossval import FoldOutput
    from sentio_ml.evaluation.spread import affine_calibration

    index = {c.path: i for i, c in enumerate(dataset.clips)}

    def fit_predict(train, test, fold):
        rows = [index[c.path] for c in train]
        x, y, groups = features[rows], dataset.labels(train), [c.split_key for c in train]
        inner = {}
        for setting in KERNEL_GRID:
            inner[setting] = np.zeros_like(y)
            for fit_rows, held in GroupKFold(INNER_FOLDS).split(x, y, groups):
                inner[setting][held] = kernel_ridge(x[fit_rows], y[fit_rows], *setting)(x[held])
        best = min(KERNEL_GRID, key=lambda s: float(((inner[s] - y) ** 2).mean()))
        offset, scale = affine_calibration(y, inner[best])
        raw = kernel_ridge(x, y, *best)(features[[index[c.path] for c in test]])
        return FoldOutput(np.clip(offset + scale * raw, 0, 1), [{"alpha": best[0], "width": best[1]}])

    return fit_predict


def main() -> None:
    from sentio_ml.console import positive_int
    from sentio_ml.distill.finetune import cv, probe_fit_predict, student_on_fourq

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", type=Path, required=True, help="a `sentio-ml distill student` output folder")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fourq"))
    parser.add_argument("--excerpts", type=positive_int, default=3, metavar="N",
                        help="excerpts per clip (default: the Predictor's 3)")
    parser.add_argument("--excerpts-cache", type=Path, default=Path("cache/distill/fourq-excerpts.npy"),
                        help="the 4Q excerpts cache `distill heads` writes beside its --out (made if missing; with "
                             "--excerpts N other than 3, N is added to its name)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    cache = args.excerpts_cache
    if args.excerpts != 3:
        cache = cache.with_name(f"{cache.stem}-{args.excerpts}{cache.suffix}")
    part, _, dataset, _, fbank = student_on_fourq(args.student, args.data, cache, args.excerpts)
    if not hasattr(part.encoder.backbone, "layers"):
        raise SystemExit("This check reads the lean backbone's layers; the student uses another backbone.")
    inputs = embeddings(part, fbank)
    shipped = inputs["shipped (last mean token + CLS)"]
    inputs.update(predicted_targets(args.student, shipped))
    heads = [(name, "linear", probe_fit_predict(features, dataset), features.shape[1]) for name, features in inputs.items()]
    heads.append(("shipped (last mean token + CLS)", "RBF kernel ridge", kernel_fit_predict(shipped, dataset), shipped.shape[1]))
    for name, head, fit_predict, dim in heads:
        summary = cv(dataset, fit_predict, f"{name}, {head}").summary()
        mean, std = summary["quadrant.macro_f1"]
        print(json.dumps({"input": name, "dim": dim, "head": head, "excerpts": args.excerpts,
                          "macro_f1": f"{mean:.3f} ± {std:.3f}",
                          "ccc": [round(summary["valence.ccc"][0], 3), round(summary["arousal.ccc"][0], 3)]},
                         ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

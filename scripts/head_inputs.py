"""Ablation: which pooled tokens of a frozen distilled student make the best linear head input?

    python scripts/head_inputs.py --student cache/distill/student [--data ../shared/data/fourq]

Prints the 4Q cross-validated macro-F1 (`sentio-ml distill heads`' linear probe, 5 fixed folds) of several
embeddings of the Predictor's three excerpts per clip: the shipped one (the last layer's mean patch token ⊕ the
CLS/distillation pair), that plus every earlier layer's mean patch token, plus the patch tokens' standard
deviation, and each half alone. A research check, not part of training.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


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


def main() -> None:
    from sentio_ml.distill.finetune import cv, probe_fit_predict, student_on_fourq

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", type=Path, required=True, help="a `sentio-ml distill student` output folder")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/fourq"))
    parser.add_argument("--excerpts-cache", type=Path, default=Path("cache/distill/fourq-excerpts.npy"),
                        help="the 4Q excerpts cache `distill heads` writes beside its --out (made if missing)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    part, _, dataset, _, fbank = student_on_fourq(args.student, args.data, args.excerpts_cache)
    if not hasattr(part.encoder.backbone, "layers"):
        raise SystemExit("This check reads the lean backbone's layers; the student uses another backbone.")
    for name, features in embeddings(part, fbank).items():
        result = cv(dataset, probe_fit_predict(features, dataset), name)
        mean, std = result.summary()["quadrant.macro_f1"]
        row = {"embedding": name, "dim": features.shape[1], "macro_f1": f"{mean:.3f} ± {std:.3f}"}
        print(json.dumps(row, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

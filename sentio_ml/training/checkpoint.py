"""Resumable checkpoints without pickles: tensors in safetensors, everything else in JSON.

`<dir>/last.safetensors` holds the model weights, the best weights so far (`best.` prefix) and the
AdamW moments (`optim.<param index>.<name>`); `<dir>/last.json` holds the epoch, history, optimiser
hyper-parameters, scheduler position and the configs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from sentio_ml.errors import SentioMLError


def save_checkpoint(
    directory: Path,
    model: torch.nn.Module,
    best_state: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    meta: dict[str, Any],
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"best.{k}": v.detach().cpu().contiguous() for k, v in best_state.items()})
    opt_state = optimizer.state_dict()
    for index, state in opt_state["state"].items():
        for name, value in state.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    groups = [{k: v for k, v in g.items()} for g in opt_state["param_groups"]]
    info = dict(meta, optimizer_groups=groups, scheduler=scheduler.state_dict())
    tmp = directory / "last.tmp.safetensors"
    save_file(tensors, str(tmp))
    (directory / "last.tmp.json").write_text(json.dumps(info, default=float))
    tmp.replace(directory / "last.safetensors")
    (directory / "last.tmp.json").replace(directory / "last.json")
    return directory / "last.safetensors"


def load_checkpoint(
    directory: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Restore model/optimizer/scheduler in place; returns (meta, best_state)."""
    weights, info_path = directory / "last.safetensors", directory / "last.json"
    if not weights.is_file() or not info_path.is_file():
        raise SentioMLError(f"No checkpoint to resume from in {directory} (expected last.safetensors and last.json).")
    try:
        tensors = load_file(str(weights))
        info = json.loads(info_path.read_text())
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    except (OSError, ValueError, RuntimeError) as exc:
        raise SentioMLError(f"The checkpoint in {directory} is unreadable or from another model: {exc}.") from exc
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": info.pop("optimizer_groups")})
    scheduler.load_state_dict(info.pop("scheduler"))
    return info, best

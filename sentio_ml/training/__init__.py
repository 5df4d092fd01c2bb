"""Training: the feature cache, `TrainConfig` and the training loop (CPU, CUDA AMP, torch DDP)."""

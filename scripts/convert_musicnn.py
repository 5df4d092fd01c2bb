"""Convert the MSD_musicnn TensorFlow checkpoint of the `musicnn` PyPI package to the safetensors file that
`sentio_ml.musicnn` loads. A one-off: the result is committed, so neither TensorFlow nor musicnn is a
dependency of Sentio. Run it in a throw-away environment:

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu torch safetensors
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    /tmp/tfenv/bin/python scripts/convert_musicnn.py [--out sentio_ml/resources/pretrained/msd_musicnn.safetensors]
"""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np


def tf_variables(checkpoint_prefix: str) -> dict[str, np.ndarray]:
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(checkpoint_prefix)
    names = reader.get_variable_to_shape_map()
    return {name: reader.get_tensor(name) for name in names if "Adam" not in name and "power" not in name}


def to_torch_names(tf: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TensorFlow variable names (in creation order, as `musicnn.models.build_musicnn` makes them) -> `Musicnn`'s."""
    out: dict[str, np.ndarray] = {}

    def bn(tf_name: str, name: str) -> None:
        pairs = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"), ("moving_variance", "running_var"))
        for tf_key, key in pairs:
            out[f"{name}.{key}"] = tf[f"{tf_name}/{tf_key}"]
        out[f"{name}.num_batches_tracked"] = np.array(0, dtype=np.int64)

    def suffix(i: int) -> str:
        return "" if i == 0 else f"_{i}"

    bn("batch_normalization", "input_bn")
    convs = [f"timbral.{i}" for i in range(2)] + [f"temporal.{i}" for i in range(3)] + [f"midend.{i}" for i in range(3)]
    for i, name in enumerate(convs):
        kernel = tf[f"conv2d{suffix(i)}/kernel"]  # [kh, kw, in, out]
        if name.startswith("midend"):  # a [7, channels] kernel over a 1-channel image = a 1-D convolution
            out[f"{name}.weight"] = kernel[:, :, 0, :].transpose(2, 1, 0)
        else:
            out[f"{name}.weight"] = kernel.transpose(3, 2, 0, 1)
        out[f"{name}.bias"] = tf[f"conv2d{suffix(i)}/bias"]
        bn(f"batch_normalization_{i + 1}", name.replace(".", "_bn."))
    bn("batch_normalization_9", "pool_bn")
    bn("batch_normalization_10", "dense_bn")
    for tf_name, name in (("dense", "dense"), ("dense_1", "output")):
        out[f"{name}.weight"] = tf[f"{tf_name}/kernel"].T
        out[f"{name}.bias"] = tf[f"{tf_name}/bias"]
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(__file__).resolve().parents[1] / "sentio_ml" / "resources" / "pretrained" / "msd_musicnn.safetensors"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()
    from safetensors.numpy import save_file

    package = Path(importlib.util.find_spec("musicnn").origin).parent
    weights = to_torch_names(tf_variables(str(package / "MSD_musicnn") + "/"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(args.out), metadata={"source": "musicnn 0.1.0 (PyPI), MSD_musicnn, ISC licence, (c) 2019 Jordi Pons"})
    print(f"{len(weights)} tensors -> {args.out}")


if __name__ == "__main__":
    main()

"""Convert the teachers' original checkpoints (../shared/pretrained, see its README) to the safetensors files
that `sentio_ml.teachers` loads, and put their licence notices beside them. A one-off: the results are
committed, so neither h5py nor the original files are needed at run time. Needs h5py (`pip install
'sentio[convert]'`):

    /work/main/.venv/bin/python scripts/convert_teachers.py [--source ../shared/pretrained] [--out sentio_ml/resources/pretrained]

musicnn_msd is not converted (sentio_ml/resources/pretrained/msd_musicnn.safetensors predates this script, made by
scripts/convert_musicnn.py from the TensorFlow checkpoint); `--check-msd` verifies that the Keras MSD_musicnn.h5
converts to exactly the same tensors.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KERAS_FILES = {"musicnn_mtt": "MTT_musicnn.h5", "vgg_msd": "MSD_vgg.h5", "vgg_mtt": "MTT_vgg.h5"}
MN04_FILE = "mn04_as_mAP_432.pt"


def keras_weights(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """{layer name: {weight name: array}} of a Keras 2 HDF5 model ('kernel_1:0' -> 'kernel')."""
    import h5py

    layers: dict[str, dict[str, np.ndarray]] = {}
    with h5py.File(path, "r") as f:
        root = f["model_weights"]
        for layer in root:
            for group in root[layer].values():
                for key, dataset in group.items():
                    layers.setdefault(layer, {})[key.split(":")[0].removesuffix("_1")] = np.asarray(dataset)
    return layers


def _bn(out: dict, layer: dict[str, np.ndarray], name: str) -> None:
    names = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"), ("moving_variance", "running_var"))
    for keras_key, key in names:
        out[f"{name}.{key}"] = layer[keras_key]
    out[f"{name}.num_batches_tracked"] = np.array(0, dtype=np.int64)


def _conv2d(out: dict, layer: dict[str, np.ndarray], name: str) -> None:
    out[f"{name}.weight"] = layer["kernel"].transpose(3, 2, 0, 1)  # [kh, kw, in, out] -> [out, in, kh, kw]
    out[f"{name}.bias"] = layer["bias"]


def _dense(out: dict, layer: dict[str, np.ndarray], name: str) -> None:
    out[f"{name}.weight"] = layer["kernel"].T
    out[f"{name}.bias"] = layer["bias"]


def musicnn_state(layers: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """musicnn_keras layer names -> `sentio_ml.musicnn.Musicnn`'s state dict."""
    out: dict[str, np.ndarray] = {}
    _bn(out, layers["batch_normalization"], "input_bn")
    fronts = [f"timbral.{i}" for i in range(2)] + [f"temporal.{i}" for i in range(3)]
    for i, name in enumerate(fronts):
        _conv2d(out, layers["conv2d" + (f"_{i}" if i else "")], name)
        _bn(out, layers[f"batch_normalization_{i + 1}"], name.replace(".", "_bn."))
    for i in range(3):  # a [7, channels] kernel over a 1-channel image = a 1-D convolution
        layer = layers[f"midend_conv{i + 1}"]
        out[f"midend.{i}.weight"] = layer["kernel"][:, :, 0, :].transpose(2, 1, 0)
        out[f"midend.{i}.bias"] = layer["bias"]
        _bn(out, layers[f"bn_midend_conv{i + 1}"], f"midend_bn.{i}")
    _bn(out, layers["bn_flatpool"], "pool_bn")
    _dense(out, layers["dense"], "dense")
    _bn(out, layers["bn_dense"], "dense_bn")
    _dense(out, layers["dense_1"], "output")
    return out


def vgg_state(layers: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """musicnn_keras VGG layer names -> `sentio_ml.teachers.musicnn_taggers.Vgg`'s state dict."""
    out: dict[str, np.ndarray] = {}
    _bn(out, layers["bn_input"], "input_bn")
    for i in range(5):
        _conv2d(out, layers[f"{i + 1}CNN"], f"convs.{i}")
        _bn(out, layers[f"bn_conv{i + 1}"], f"bns.{i}")
    _dense(out, layers["output"], "output")
    return out


def mn04_state(path: Path) -> dict[str, np.ndarray]:
    """EfficientAT's state dict (torch zip, tensors only) as numpy; the port keeps upstream's names."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    return {key: value.numpy() for key, value in state.items()}


def save(name: str, state: dict[str, np.ndarray], out_dir: Path, source: str) -> Path:
    """Check the tensors fit the port exactly, then write them as float32 safetensors."""
    import torch
    from safetensors.numpy import save_file

    from sentio_ml.teachers import WEIGHT_FILES, build_teacher

    state = {k: np.ascontiguousarray(v, dtype=np.int64 if v.dtype == np.int64 else np.float32)
             for k, v in state.items()}
    build_teacher(name).network.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})  # strict
    path = out_dir / WEIGHT_FILES[name]
    save_file(state, str(path), metadata={"source": source})
    path.chmod(0o644)
    print(f"{name}: {len(state)} tensors, {path.stat().st_size / 1e6:.2f} MB -> {path}")
    return path


def write_licences(source: Path, out_dir: Path) -> None:
    shutil.copyfile(source / "musicnn_keras" / "LICENSE.md", out_dir / "MUSICNN-KERAS-LICENSE.md")
    efficientat = source / "efficientat"
    (out_dir / "EFFICIENTAT-LICENSE.md").write_text(
        "The EfficientAT mn04 weights (mn04.safetensors) and the ported code in sentio_ml/teachers/mobilenet.py come "
        "from EfficientAT (github.com/fschmid56/EfficientAT), distributed via github.com/nikih94/"
        "swch-audio-classification; both under the MIT licence:\n\n"
        + (efficientat / "LICENSE.EfficientAT").read_text().strip() + "\n\n---\n\n"
        + (efficientat / "LICENSE").read_text().strip() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "pretrained")
    parser.add_argument("--out", type=Path, default=ROOT / "sentio_ml" / "resources" / "pretrained")
    parser.add_argument("--only", nargs="*", help="teacher names to convert (default: all but musicnn_msd)")
    parser.add_argument("--check-msd", action="store_true", help="verify MSD_musicnn.h5 == msd_musicnn.safetensors")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    keras_dir = args.source / "musicnn_keras"
    for name, file in KERAS_FILES.items():
        if args.only is None or name in args.only:
            layers = keras_weights(keras_dir / file)
            state = musicnn_state(layers) if name.startswith("musicnn") else vgg_state(layers)
            save(name, state, args.out, f"musicnn_keras @ ad6cfb8, {file}; ISC (c) 2019 MTG-UPF, (c) 2020 Elio Quinton")
    if args.only is None or "mn04" in args.only:
        save("mn04", mn04_state(args.source / "efficientat" / MN04_FILE), args.out,
             f"EfficientAT {MN04_FILE} (nikih94/swch-audio-classification @ 2b362d9); MIT (c) 2022 Florian Schmid")
    write_licences(args.source, args.out)
    if args.check_msd:
        from safetensors.numpy import load_file

        shipped = load_file(str(args.out / "msd_musicnn.safetensors"))
        converted = musicnn_state(keras_weights(keras_dir / "MSD_musicnn.h5"))
        assert shipped.keys() == converted.keys()
        worst = max(float(np.abs(shipped[k] - converted[k]).max()) for k in shipped)
        print(f"MSD_musicnn.h5 vs msd_musicnn.safetensors: {len(shipped)} tensors, max |difference| {worst:g}")


if __name__ == "__main__":
    main()

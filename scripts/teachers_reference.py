"""Write tests/data/teachers_reference.json: each teacher's ORIGINAL implementation run on
`sentio_ml.teachers.signals.reference_wave` (10 s at the teacher's sample rate), the known answers
tests/ml/test_teachers.py checks the torch ports against. Throw-away environments, one per original:

musicnn / VGG (musicnn 0.1.0, its own TensorFlow code and checkpoints; and, as a cross-check of the converted
files, the musicnn_keras .h5 checkpoints loaded by Keras 2):
    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu tf-keras h5py librosa
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 /tmp/tfenv/bin/python scripts/teachers_reference.py tensorflow

mn04 (upstream EfficientAT's PyTorch code: models/mn/{model,block_types,utils}.py and models/preprocess.py of
github.com/fschmid56/EfficientAT, in a folder together with the two functions it imports from torchvision
(ops.misc.ConvNormActivation) and torchaudio (compliance.kaldi.get_mel_banks)):
    python scripts/teachers_reference.py efficientat --upstream /tmp/ref/efficientat

Both patch taggers' inputs are computed as musicnn's `batch_data` does (librosa mel, log10(1 + 10000·mel),
non-overlapping 187-frame patches from the first frame), in float32 rather than the package's float16, which
overflows on loud passages; outputs are averaged over the patches.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "teachers_reference.json"
SECONDS = 10.0
TF_MODELS = {"musicnn_msd": "MSD_musicnn", "musicnn_mtt": "MTT_musicnn", "vgg_msd": "MSD_vgg", "vgg_mtt": "MTT_vgg"}


def reference_wave(sample_rate: int) -> np.ndarray:
    """Loaded by path: the reference environments have no torch for sentio_ml's package imports."""
    spec = importlib.util.spec_from_file_location("signals", ROOT / "sentio_ml" / "teachers" / "signals.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reference_wave(sample_rate, SECONDS)


def rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in np.asarray(values, dtype=np.float64).ravel()]


def musicnn_patches() -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=reference_wave(16000), sr=16000, hop_length=256, n_fft=512, n_mels=96).T
    logmel = np.log10(10000 * mel.astype(np.float32) + 1)
    count = logmel.shape[0] // 187
    return logmel[: count * 187].reshape(count, 187, 96)


def tensorflow_answers() -> dict[str, dict]:
    import tensorflow as tf
    from musicnn import extractor, models  # noqa: F401 - importing the extractor disables eager mode, as it needs

    package = Path(importlib.util.find_spec("musicnn").origin).parent
    batch, answers = musicnn_patches(), {}
    for name, model in TF_MODELS.items():
        tf.compat.v1.reset_default_graph()
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, 187, 96])
            is_training = tf.compat.v1.placeholder(tf.bool)
            outputs = models.define_model(x, is_training, model, 50)
        embedding = outputs[5] if "vgg" in model else outputs[8]  # pool5 / penultimate (bn_dense)
        with tf.compat.v1.Session() as sess:
            tf.compat.v1.train.Saver().restore(sess, str(package / model) + "/")
            logits, emb = sess.run([outputs[0], embedding], feed_dict={x: batch, is_training: False})
        emb = emb.reshape(len(batch), -1)  # pool5 [N, 2, 1, 128] in tf.layers.flatten's order
        answers[name] = {"source": f"musicnn 0.1.0 {model} on TensorFlow {tf.__version__} (its checkpoint)",
                         "patches": len(batch), "logits": rounded(logits.mean(0)), "embedding": rounded(emb.mean(0))}
        answers[name]["keras_h5_logits"] = keras_logits(model, batch)
        print(f"{name}: {len(batch)} patches")
    return answers


def keras_logits(model: str, batch: np.ndarray) -> list[float] | str:
    """The same patches through the musicnn_keras .h5 file scripts/convert_teachers.py converts (a cross-check
    that it holds the TensorFlow checkpoint's network)."""
    import tf_keras

    path = ROOT.parent / "shared" / "pretrained" / "musicnn_keras" / f"{model}.h5"
    tf_keras.backend.clear_session()
    try:
        keras_model = tf_keras.models.load_model(str(path), compile=False)
    except Exception as exc:  # noqa: BLE001 - recorded, not fatal: the TensorFlow answer is the reference
        return f"not loadable by tf_keras: {type(exc).__name__}"
    layer = "output" if "vgg" in model else "dense_1"
    logits_model = tf_keras.Model(keras_model.input, keras_model.get_layer(layer).output)
    return rounded(logits_model.predict_on_batch(batch[..., None]).mean(0))


def efficientat_answers(upstream: Path) -> dict[str, dict]:
    import torch

    sys.path.insert(0, str(upstream))
    from models.mn.model import get_model
    from models.preprocess import AugmentMelSTFT

    model = get_model(width_mult=0.4, head_type="mlp", num_classes=527)  # as upstream's inference.py builds mn04_as
    weights = ROOT.parent / "shared" / "pretrained" / "efficientat" / "mn04_as_mAP_432.pt"
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    mel = AugmentMelSTFT(n_mels=128, sr=32000, win_length=800, hopsize=320, freqm=0, timem=0)  # eval: no masking
    model.eval(), mel.eval()
    with torch.no_grad():
        spec = mel(torch.from_numpy(reference_wave(32000))[None])
        logits, features = model(spec.unsqueeze(0))
    source = f"EfficientAT (fschmid56, models/mn @ 138342a) mn04_as_mAP_432.pt on torch {torch.__version__}"
    return {"mn04": {"source": source,
                     "logits": rounded(logits[0].numpy()), "embedding": rounded(features[0].numpy())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("original", choices=("tensorflow", "efficientat"))
    parser.add_argument("--upstream", type=Path, help="folder with EfficientAT's models/ (efficientat only)")
    args = parser.parse_args()
    answers = tensorflow_answers() if args.original == "tensorflow" else efficientat_answers(args.upstream)
    stored = json.loads(OUT.read_text()) if OUT.is_file() else {}
    stored.setdefault("signal", f"sentio_ml.teachers.signals.reference_wave(sample_rate, {SECONDS})")
    stored.setdefault("teachers", {}).update(answers)
    stored["teachers"] = dict(sorted(stored["teachers"].items()))
    OUT.write_text(json.dumps(stored, indent=None, separators=(",", ":")).replace('},"', '},\n"') + "\n")
    print(f"-> {OUT}")


if __name__ == "__main__":
    main()

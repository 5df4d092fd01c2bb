"""Write tests/data/musicnn_reference.json: the original TensorFlow musicnn's MSD tag probabilities for a
synthetic signal, the known answer `tests/ml/test_musicnn.py` checks the torch port against. Run it where
`scripts/convert_musicnn.py` runs (an environment with tensorflow-cpu, tf-keras and musicnn 0.1.0):

    TF_USE_LEGACY_KERAS=1 /tmp/tfenv/bin/python scripts/musicnn_reference.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentio_ml.musicnn import reference_signal  # noqa: E402


def main() -> None:
    import librosa
    import musicnn.extractor as extractor
    import tensorflow as tf

    wave = reference_signal()
    mel = librosa.feature.melspectrogram(y=wave, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
    patch = np.log10(10000 * mel.astype(np.float32) + 1)[None, :187]  # float32: the package's float16 overflows
    extractor.batch_data = lambda *_: (patch, patch[0])
    taggram, _, _ = extractor.extractor("unused", model="MSD_musicnn", input_length=3, extract_features=True)
    out = ROOT / "tests" / "data" / "musicnn_reference.json"
    out.write_text(json.dumps({"source": f"musicnn 0.1.0 MSD_musicnn on TensorFlow {tf.__version__}",
                               "tag_probabilities": [round(float(p), 6) for p in taggram[0]]}, indent=1) + "\n")
    print(f"-> {out}")


if __name__ == "__main__":
    main()

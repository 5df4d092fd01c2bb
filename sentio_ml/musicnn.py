"""musicnn (Pons & Serra 2019), the MSD-trained music tagger, in torch: a pretrained view for the quadrant head.

The AST in Sentio is trained from scratch on a few hundred clips; musicnn was trained on ~200,000 tracks of
the Million Song Dataset to predict its 50 most frequent Last.fm tags (genres, eras, instruments and moods
such as "happy", "sad", "Mellow", "chillout", "party"). Those tags and the 200-unit layer before them carry
genre and style, which decide much of a song's mood quadrant and which hand-made descriptors miss.

`Musicnn` is a line-for-line port of `musicnn.models.build_musicnn` (ISC licence, © 2019 Music Technology
Group, Universitat Pompeu Fabra; code by Jordi Pons; see `sentio_ml/resources/pretrained/MUSICNN-LICENSE.md`): a
musically motivated front-end (timbral filters 7 frames x 38/67 mel bands, temporal filters 128/64/32 frames
x 1 band, each max-pooled over frequency), three dense 1-D convolutions with residual connections, max- and
mean-pooling over time, and two dense layers. Its input is librosa's 96-band mel power spectrogram of 16-kHz
audio (n_fft 512, hop 256) as log10(1 + 10000·mel) in float32 (the package's own float16 overflows on loud
passages), in patches of 187 frames (3 s) as it was trained. `scripts/convert_musicnn.py` turns the TensorFlow
checkpoint of the `musicnn` PyPI package into `sentio_ml/resources/pretrained/msd_musicnn.safetensors`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sentio_ml.paths import pretrained_file

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s, the length the model was trained on
MUSICNN_VERSION = 1  # bump when the embedding changes meaning (weights, input, patches)
TF_BATCH_NORM_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default
WEIGHTS = pretrained_file("msd_musicnn.safetensors")
LICENSE = pretrained_file("MUSICNN-LICENSE.md")  # its notice must travel with every copy of the weights (model cards)
MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient",
    "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb",
    "indie pop", "sad", "House", "happy",
)  # fmt: skip
EMBEDDING_DIM = 200 + len(MSD_TAGS)  # penultimate layer + tag logits


def _bn(channels: int, dims: int = 1) -> nn.Module:
    cls = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return cls(channels, eps=TF_BATCH_NORM_EPSILON)


class Musicnn(nn.Module):
    """MSD_musicnn: log-mel patches [B, frames, 96] -> (tag logits [B, 50], penultimate [B, 200])."""

    def __init__(self, frontend_scale: float = 1.6, midend_filters: int = 64, backend_units: int = 200) -> None:
        super().__init__()
        timbral, temporal = int(frontend_scale * 128), int(frontend_scale * 32)
        self.input_bn = _bn(1, 2)
        self.timbral = nn.ModuleList(nn.Conv2d(1, timbral, (7, int(share * N_MELS))) for share in (0.4, 0.7))
        self.timbral_bn = nn.ModuleList(_bn(timbral, 2) for _ in range(2))
        self.temporal = nn.ModuleList(nn.Conv2d(1, temporal, (length, 1)) for length in (128, 64, 32))
        self.temporal_bn = nn.ModuleList(_bn(temporal, 2) for _ in range(3))
        front = 2 * timbral + 3 * temporal
        self.midend = nn.ModuleList(nn.Conv1d(c, midend_filters, 7, padding=3) for c in (front, midend_filters, midend_filters))
        self.midend_bn = nn.ModuleList(_bn(midend_filters) for _ in range(3))
        pooled = 2 * (front + 3 * midend_filters)
        self.pool_bn = _bn(pooled)
        self.dense = nn.Linear(pooled, backend_units)
        self.dense_bn = _bn(backend_units)
        self.output = nn.Linear(backend_units, len(MSD_TAGS))

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.input_bn(mel.unsqueeze(1))  # [B, 1, T, F]
        front = []
        # timbral filters: "valid" in frequency, time padded by 3 each side; temporal ones: TensorFlow's "same"
        for conv, bn in zip(self.timbral, self.timbral_bn):
            front.append(_relu_norm_max(conv(F.pad(x, (0, 0, 3, 3))), bn))
        for conv, bn in zip(self.temporal, self.temporal_bn):
            k = conv.kernel_size[0]
            front.append(_relu_norm_max(conv(F.pad(x, (0, 0, (k - 1) // 2, k // 2))), bn))
        features = [torch.cat(front, dim=1)]  # [B, 561, T]
        h = self.midend_bn[0](F.relu(self.midend[0](features[0])))
        features.append(h)
        for conv, bn in zip(self.midend[1:], self.midend_bn[1:]):
            h = bn(F.relu(conv(h))) + h
            features.append(h)
        dense = torch.cat(features, dim=1)  # [B, 753, T]
        pooled = torch.stack([dense.amax(dim=2), dense.mean(dim=2)], dim=2).flatten(1)  # TF's (max, mean) interleaving
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        return self.output(penultimate), penultimate


def _relu_norm_max(z: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    """max over frequency of bn(relu(z)) for z [B, C, T, F] -> [B, C, T], without normalising the whole map.

    In eval mode bn is a per-channel a·x + b, and relu is monotonic, so the maximum is a·relu(max z) + b where
    a > 0 and a·relu(min z) + b where a < 0: two reductions instead of three passes over the largest
    tensors of the network (the front-end's maps are ~80 MB for 9 patches)."""
    if bn.training:
        return bn(F.relu(z)).amax(dim=3)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    extreme = torch.where((scale >= 0)[:, None], z.amax(dim=3), z.amin(dim=3))
    return F.relu(extreme) * scale[:, None] + shift[:, None]


def log_mel_patches(waves: np.ndarray, sample_rate: int = SAMPLE_RATE, patches: int = 3) -> torch.Tensor:
    """musicnn inputs [B, patches, 187, 96] of mono waveforms [B, samples]: the central `patches` of each
    waveform's consecutive 3-s patches (fewer when it is shorter; a short one is repeated to 3 s)."""
    import librosa

    waves = np.asarray(waves, dtype=np.float32)
    if sample_rate != SAMPLE_RATE:
        waves = librosa.resample(waves, orig_sr=sample_rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    mel = librosa.feature.melspectrogram(y=waves, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    logmel = np.log10(10000.0 * mel + 1.0).transpose(0, 2, 1)  # [B, T, 96]
    if logmel.shape[1] < PATCH_FRAMES:  # short input: repeated, as musicnn's training padded short clips
        logmel = np.tile(logmel, (1, -(-PATCH_FRAMES // logmel.shape[1]), 1))
    available = logmel.shape[1] // PATCH_FRAMES
    take = min(patches, available)
    first = (available - take) // 2 * PATCH_FRAMES
    cut = logmel[:, first : first + take * PATCH_FRAMES].reshape(len(waves), take, PATCH_FRAMES, N_MELS)
    return torch.from_numpy(np.ascontiguousarray(cut, dtype=np.float32))


@torch.no_grad()
def musicnn_embedding(model: Musicnn, waves: np.ndarray, sample_rate: int = SAMPLE_RATE, patches: int = 3) -> np.ndarray:
    """[B, EMBEDDING_DIM] per waveform: penultimate activations and tag logits, averaged over its central
    `patches` 3-s patches (`log_mel_patches`)."""
    mel = log_mel_patches(waves, sample_rate, patches)
    logits, penultimate = model(mel.flatten(0, 1))
    both = torch.cat([penultimate, logits], dim=1)
    return both.reshape(mel.shape[0], mel.shape[1], -1).mean(dim=1).numpy()


def load_musicnn(path: Path = WEIGHTS) -> Musicnn:
    """The pretrained MSD_musicnn in eval mode (SentioMLError, one sentence, when its weights are missing)."""
    from safetensors.torch import load_file

    from sentio_ml.errors import SentioMLError

    if not Path(path).is_file():
        raise SentioMLError(f"The pretrained musicnn weights are missing ({path}); restore them from the Sentio "
                            "repository (or run scripts/convert_musicnn.py), or train with --no-musicnn.")
    model = Musicnn()
    model.load_state_dict(load_file(str(path)))
    return model.eval()


def reference_signal(seconds: float = 3.2) -> np.ndarray:
    """A deterministic 16-kHz test signal (a plucked-chord pattern over a kick-like pulse, no RNG), for the
    known-answer test of the port against the original TensorFlow model (`scripts/musicnn_reference.py`)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    beat = (t * 2.0) % 1.0  # 120 BPM
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63, 440.0)) * np.exp(-3.0 * beat)
    kick = np.sin(2 * np.pi * 60.0 * t) * np.exp(-25.0 * beat)
    return (0.15 * chord + 0.5 * kick).astype(np.float32)

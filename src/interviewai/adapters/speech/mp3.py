"""MP3 encoding with lameenc, and the decoded length that timings must be measured against."""

from __future__ import annotations

import lameenc
import numpy as np
import numpy.typing as npt

# LAME starts its output this many samples late (576 encoder + 529 MDCT delay) and lameenc writes no
# gapless Info tag that would let a decoder trim it, so every decoded sample is shifted by it.
# Measured with miniaudio: the same 1105 samples at every quality and bitrate.
LAME_ENCODER_DELAY_SAMPLES = 1105

DEFAULT_BITRATE_KBPS = 64
DEFAULT_QUALITY = 5  # 2 = best, 7 = fastest; 5 encodes 10 s of 22 kHz speech in about 20 ms

_BITRATES_KBPS_MPEG1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_KBPS_MPEG2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_MPEG1 = 3
_LAYER_III = 1


def encode_mp3(
    pcm: npt.NDArray[np.int16],
    sample_rate: int,
    *,
    bitrate_kbps: int = DEFAULT_BITRATE_KBPS,
    quality: int = DEFAULT_QUALITY,
) -> bytes:
    """Encode mono 16-bit PCM as a CBR MP3 (no Info tag, so decoders keep the encoder delay)."""
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_channels(1)
    encoder.set_quality(quality)
    encoded = encoder.encode(np.ascontiguousarray(pcm, dtype=np.int16).tobytes())
    encoded += encoder.flush()
    return bytes(encoded)


def decoded_sample_count(mp3: bytes) -> tuple[int, int]:
    """(samples, sample rate) a decoder produces for `mp3`, counted from its frame headers.

    The decoded length is not PCM length + delay: LAME pads the end to whole frames and sometimes adds
    one more, so counting frames is the only exact way (checked against miniaudio at 32-128 kbps).
    Handles the Layer III CBR/VBR frames lameenc writes, after an optional ID3v2 tag.
    """
    offset = _skip_id3v2(mp3)
    samples = 0
    sample_rate = 0
    while offset + 4 <= len(mp3):
        header = int.from_bytes(mp3[offset : offset + 4], "big")
        if header >> 21 != 0x7FF:
            if mp3[offset : offset + 3] == b"TAG":  # ID3v1 trailer
                break
            raise ValueError(f"no MP3 frame header at byte {offset}")
        version = (header >> 19) & 0b11
        layer = (header >> 17) & 0b11
        bitrate_index = (header >> 12) & 0b1111
        rate_index = (header >> 10) & 0b11
        padding = (header >> 9) & 0b1
        if layer != _LAYER_III or version not in _SAMPLE_RATES or rate_index == 3:
            raise ValueError(f"unsupported MP3 frame header {header:#010x} at byte {offset}")
        if bitrate_index in (0, 15):
            raise ValueError(f"free-format or bad bitrate in frame at byte {offset}")
        sample_rate = _SAMPLE_RATES[version][rate_index]
        if version == _MPEG1:
            frame_bytes = 144_000 * _BITRATES_KBPS_MPEG1[bitrate_index] // sample_rate + padding
            samples += 1152
        else:
            frame_bytes = 72_000 * _BITRATES_KBPS_MPEG2[bitrate_index] // sample_rate + padding
            samples += 576
        offset += frame_bytes
    return samples, sample_rate


def decoded_duration_s(mp3: bytes) -> float:
    """Length of `mp3` as decoded (encoder delay and end padding included), in seconds."""
    samples, sample_rate = decoded_sample_count(mp3)
    return samples / sample_rate if sample_rate else 0.0


def _skip_id3v2(data: bytes) -> int:
    if len(data) < 10 or data[:3] != b"ID3":
        return 0
    size = 0
    for byte in data[6:10]:  # syncsafe: 7 bits per byte
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if data[5] & 0x10 else 0
    return 10 + size + footer

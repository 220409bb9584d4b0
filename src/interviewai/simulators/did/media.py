"""The D-ID simulator's media, with PyAV in worker threads: audio decoding, WAV/PNG encoding, clip video.

PyAV is imported where it is used, so that the simulator's modules (and the CLI that lists its options)
load without it; it is needed only to run the simulator.
"""

from __future__ import annotations

import io
import math
import wave
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from interviewai.simulators.did.spec import FPS, Mouth

if TYPE_CHECKING:
    import av


def require_pyav() -> None:
    """Fail with an install hint when PyAV (FFmpeg for Python) is missing."""
    try:
        import av  # noqa: F401
    except ImportError as error:
        raise RuntimeError(
            "the D-ID simulator renders video with PyAV: pip install 'interviewai[sim]' (or 'av')"
        ) from error


def decode_audio(data: bytes, sample_rate: int | None = None) -> tuple[npt.NDArray[np.float32], int]:
    """Mono float samples of the first audio stream of any file FFmpeg reads (MP3, WAV, MP4...),
    resampled to ``sample_rate`` when given. Raises ValueError when there is no decodable audio."""
    import av

    chunks: list[npt.NDArray[np.float32]] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise ValueError("no audio stream")
            stream = container.streams.audio[0]
            rate = sample_rate or stream.codec_context.sample_rate
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(stream):
                chunks.extend(_mono(f) for f in resampler.resample(frame))
            chunks.extend(_mono(f) for f in resampler.resample(None))
    except av.FFmpegError as error:
        raise ValueError(str(error)) from error
    if not chunks:
        raise ValueError("no audio samples")
    return np.concatenate(chunks).astype(np.float32, copy=False), rate


def _mono(frame: av.AudioFrame) -> npt.NDArray[np.float32]:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)


def encode_wav(samples: npt.NDArray[np.float32], sample_rate: int) -> bytes:
    """16-bit mono PCM WAV."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def decode_image(data: bytes) -> npt.NDArray[np.uint8]:
    """An image file (PNG, JPEG...) as an RGB array, cropped to even dimensions (H.264 needs them)."""
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            frame = next(container.decode(video=0))
    except (av.FFmpegError, StopIteration) as error:
        raise ValueError(f"unreadable presenter image: {error}") from error
    rgb = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
    height, width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    return np.ascontiguousarray(rgb[:height, :width])


def encode_png(image: npt.NDArray[np.uint8], max_size: int | None = None) -> bytes:
    """`image` (height x width x 3 RGB) as PNG bytes, scaled down to fit `max_size` pixels when given; needs
    PyAV."""
    import av

    width, height = _fit(image.shape[1], image.shape[0], max_size)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(width=width, height=height)
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "rgb24"
    return b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])


def render_video(
    image: npt.NDArray[np.uint8],
    samples: npt.NDArray[np.float32] | None,
    sample_rate: int,
    *,
    duration_s: float | None = None,
    result_format: str = "mp4",
    max_size: int | None = None,
    mouth: Mouth | None = None,
    fps: int = FPS,
) -> tuple[bytes, int, tuple[int, int]]:
    """The image as video (a mouth opening with the loudness when ``mouth`` is given) with ``samples``
    as its audio track, as long as the audio (or ``duration_s`` of silent video without samples).

    Returns the file, its number of frames and its (width, height).
    """
    import av

    if samples is not None:
        duration_s = len(samples) / sample_rate
    if not duration_s or duration_s <= 0:
        raise ValueError("nothing to render: no audio and no duration")
    frames = max(1, math.ceil(duration_s * fps - 1e-6))
    width, height = _fit(image.shape[1], image.shape[0], max_size)
    levels = (
        _mouth_levels(samples, sample_rate, frames, fps)
        if mouth is not None and samples is not None
        else None
    )
    webm = result_format == "webm"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mov" if result_format == "mov" else result_format) as container:
        if webm:
            video = container.add_stream(
                "libvpx", rate=fps, options={"deadline": "realtime", "cpu-used": "8", "b": "600k"}
            )
        else:
            video = container.add_stream(
                "libx264", rate=fps, options={"preset": "ultrafast", "tune": "stillimage", "crf": "26"}
            )
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = None
        if samples is not None:
            audio = container.add_stream("libopus" if webm else "aac", rate=sample_rate)
            audio.layout = "mono"
        cache: dict[int, av.VideoFrame] = {}
        for index in range(frames):
            level = int(levels[index]) if levels is not None else 0
            if level not in cache:
                picture = _with_open_mouth(image, mouth, level / _MOUTH_LEVELS) if mouth and level else image
                cache[level] = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(
                    width=width, height=height, format="yuv420p"
                )
            frame = cache[level]
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None and samples is not None:
            sound = av.AudioFrame.from_ndarray(
                samples.reshape(1, -1).astype(np.float32), format="flt", layout="mono"
            )
            sound.sample_rate = sample_rate
            sound.pts = 0
            sound.time_base = Fraction(1, sample_rate)
            container.mux(audio.encode(sound))
            container.mux(audio.encode(None))
    return buffer.getvalue(), frames, (width, height)


def render_idle_video(image: npt.NDArray[np.uint8], duration_s: float = 3.0) -> bytes:
    """A few silent seconds of the presenter, for the loop between clips."""
    video, _, _ = render_video(image, None, 0, duration_s=duration_s)
    return video


_MOUTH_LEVELS = 6


def _mouth_levels(
    samples: npt.NDArray[np.float32], sample_rate: int, frames: int, fps: int
) -> npt.NDArray[np.int64]:
    """How open the mouth is in each frame (0 = closed .. _MOUTH_LEVELS), from the frame's loudness."""
    per_frame = sample_rate / fps
    rms = np.zeros(frames, dtype=np.float64)
    for index in range(frames):
        window = samples[int(index * per_frame) : int((index + 1) * per_frame)]
        if len(window):
            rms[index] = float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))
    loud = float(np.percentile(rms, 95)) if frames else 0.0
    if loud <= 1e-4:
        return np.zeros(frames, dtype=np.int64)
    openness = np.clip(rms / loud, 0.0, 1.0)
    openness[openness < 0.15] = 0.0  # pauses keep the mouth shut rather than trembling
    return np.rint(openness * _MOUTH_LEVELS).astype(np.int64)


def _with_open_mouth(image: npt.NDArray[np.uint8], mouth: Mouth, openness: float) -> npt.NDArray[np.uint8]:
    picture = image.copy()
    half_height = max(1.0, mouth.max_half_height * openness)
    top = max(0, int(mouth.center_y - half_height))
    bottom = min(picture.shape[0], int(mouth.center_y + half_height) + 1)
    left = max(0, mouth.center_x - mouth.half_width)
    right = min(picture.shape[1], mouth.center_x + mouth.half_width + 1)
    ys, xs = np.mgrid[top:bottom, left:right]
    inside = ((xs - mouth.center_x) / mouth.half_width) ** 2 + (
        (ys - mouth.center_y) / half_height
    ) ** 2 <= 1.0
    region = picture[top:bottom, left:right]
    region[inside] = (92, 28, 36)
    return picture


def _fit(width: int, height: int, max_size: int | None) -> tuple[int, int]:
    """Scale down to ``max_size`` on the longer side (aspect kept, even numbers); never up."""
    scale = 1.0 if not max_size else min(1.0, max_size / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)

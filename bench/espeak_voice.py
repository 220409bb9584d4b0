"""The bench's second voice: espeak-ng's own formant synthesizer, from the library inside the piper-tts wheel.

piper-tts ships libespeak-ng (statically linked into ``piper/espeakbridge.so``, with its ``espeak-ng-data``)
for phonemizing; the same library also synthesizes, so a second, very different voice needs no system
package. It runs in a process of its own (``python bench/espeak_voice.py``, texts as JSON on stdin, WAV
files out), so espeak's global state never meets the piper voice's phonemizer in the bench's process.

    echo '[["hello", "hello.wav"]]' | python bench/espeak_voice.py --voice en-us --rate 160
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import wave
from pathlib import Path

import piper

AUDIO_OUTPUT_SYNCHRONOUS = 2
CHARS_UTF8 = 1
ESPEAK_RATE = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakVoice:
    """espeak-ng speaking English at `rate` words per minute, as 16-bit mono PCM at its own sample rate."""

    def __init__(self, voice: str = "en-us", rate: int = 160) -> None:
        folder = Path(piper.__file__).parent
        self._lib = ctypes.CDLL(str(folder / "espeakbridge.so"))
        self.sample_rate = self._lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, str(folder / "espeak-ng-data").encode(), 0
        )
        if self.sample_rate <= 0:
            raise RuntimeError("espeak-ng did not initialise")
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"espeak-ng has no voice {voice!r}")
        self._lib.espeak_SetParameter(ESPEAK_RATE, rate, 0)
        self._chunks: list[bytes] = []
        # Kept on self: ctypes must not collect the callback while espeak holds it.
        self._callback = _CALLBACK(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, samples: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(samples, count * 2))
        return 0  # go on

    def speak(self, text: str) -> bytes:
        """16-bit mono PCM of `text` at the voice's sample rate (espeak's callback collects the chunks)."""
        self._chunks = []
        data = text.encode() + b"\0"
        self._lib.espeak_Synth(data, len(data), 0, 0, 0, CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        return b"".join(self._chunks)

    def save(self, text: str, path: Path) -> None:
        """Speak `text` into a WAV file at `path`."""
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.speak(text))


def main() -> None:
    """Read [[text, path], ...] as JSON from stdin and write each text's WAV file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default="en-us", help="an espeak-ng voice, e.g. en-us or en-us+f3")
    parser.add_argument("--rate", type=int, default=160, help="words per minute")
    args = parser.parse_args()
    voice = EspeakVoice(args.voice, args.rate)
    for text, path in json.load(sys.stdin):
        voice.save(text, Path(path))


if __name__ == "__main__":
    main()

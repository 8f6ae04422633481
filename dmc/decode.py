"""Reading the audio formats people actually export: libsndfile first, then ffmpeg through pydub.

Mixes and multitracks from outside the project arrive as whatever a DAW, a streaming
service's download or a commercial auto-mixer wrote: WAV, FLAC and AIFF (which
libsndfile reads), but also m4a/AAC, WMA, Opus in odd containers, and MP3 with headers
libsndfile's decoder refuses. :func:`read_any_audio` tries libsndfile (fast, no
subprocess, the project's own reader: :func:`dmc.audio.read_audio`) and hands anything
it cannot read to ffmpeg through ``pydub``, so one call reads every format ffmpeg knows.

Why pydub and not a hand-made ffmpeg pipe: it already probes the stream (ffprobe) to
pick a lossless PCM layout for ffmpeg's output and repairs the WAV header of piped
output, the two places where such a pipe goes wrong. Both pydub and ffmpeg are only
needed for the formats libsndfile lacks; a missing one is a one-line
:class:`dmc.audio.AudioError` that names what to install.

Decoders differ in what they do at the edges of a lossy stream: ffmpeg removes AAC's
encoder delay when the container records it (m4a from ffmpeg or iTunes does) and pads
the last frame; WMA can start a few milliseconds late. Callers that need a fixed length
check it with a tolerance (``dmc.render.importer``).
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dmc.audio import AudioError, read_audio, resample

#: What to do when ffmpeg is missing (CI and the project's machines install Debian's).
FFMPEG_HINT = "install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg)"
#: What to do when pydub is missing (a dependency in pyproject.toml; a bare environment may lack it).
PYDUB_HINT = "install the pydub package (pip install 'pydub>=0.25')"
#: Readers named in :attr:`Decoded.reader`.
LIBSNDFILE, FFMPEG = "libsndfile", "ffmpeg"


@dataclass(frozen=True)
class Decoded:
    """A decoded file: float32 ``(channels, samples)`` audio at ``sample_rate``.

    Attributes:
        file_sample_rate: the rate stored in the file (before any resampling).
        reader: :data:`LIBSNDFILE` or :data:`FFMPEG`, the decoder that read it.
    """

    audio: np.ndarray
    sample_rate: int
    file_sample_rate: int
    reader: str

    @property
    def channels(self) -> int:
        return int(self.audio.shape[0])


def read_any_audio(path: str | os.PathLike, sample_rate: int | None = None) -> Decoded:
    """Read an audio file of any format libsndfile or ffmpeg reads, as float32 ``(channels, samples)``.

    Args:
        path: the file; its suffix does not matter (the content decides).
        sample_rate: resample to this rate (Hz) if given and different from the file's.

    Raises:
        AudioError: the file is missing, empty or unreadable by both decoders, or it
            needs ffmpeg/pydub and they are not installed; one line naming the file and
            the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    try:
        audio, rate = read_audio(path)
        reader = LIBSNDFILE
    except AudioError as exc:
        first = _one_line(str(exc).split(": ", 1)[-1])
        audio, rate = _read_with_ffmpeg(path, first)
        reader = FFMPEG
    if audio.shape[1] == 0:
        raise AudioError(f"{path} holds no audio samples")
    file_rate = int(rate)
    if sample_rate is not None and sample_rate != file_rate:
        audio = resample(audio, file_rate, sample_rate)
        rate = sample_rate
    return Decoded(np.ascontiguousarray(audio, dtype=np.float32), int(rate), file_rate, reader)


def ffmpeg_available() -> bool:
    """Whether both ffmpeg and ffprobe (which pydub probes streams with) are on the PATH."""
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def _import_pydub():
    """pydub, imported quietly: it imports the deprecated ``audioop`` module and warns at
    import when ffmpeg is missing, neither of which concerns the caller (ffmpeg is checked here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pydub
        import pydub.exceptions
    return pydub


def _read_with_ffmpeg(path: Path, libsndfile_error: str) -> tuple[np.ndarray, int]:
    if not ffmpeg_available():
        raise AudioError(
            f"cannot read {path}: libsndfile does not read it ({libsndfile_error}) and ffmpeg, "
            f"which reads the other formats, is not installed; {FFMPEG_HINT}"
        )
    try:
        pydub = _import_pydub()
    except ImportError:
        raise AudioError(
            f"cannot read {path}: libsndfile does not read it ({libsndfile_error}) and reading it "
            f"through ffmpeg needs pydub; {PYDUB_HINT}"
        ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            segment = pydub.AudioSegment.from_file(str(path))
    except (pydub.exceptions.CouldntDecodeError, IndexError, KeyError, OSError, ValueError) as exc:
        raise AudioError(
            f"cannot read {path}: neither libsndfile ({libsndfile_error}) nor ffmpeg "
            f"({_ffmpeg_reason(exc)}) decodes it; export WAV, FLAC or another common format"
        ) from None
    width = int(segment.sample_width)
    samples = np.asarray(segment.get_array_of_samples(), dtype=np.float64)
    # pydub holds signed integers of ``width`` bytes (8-bit data is biased to signed on load)
    audio = samples.reshape(-1, int(segment.channels)).T / float(1 << (8 * width - 1))
    return audio.astype(np.float32), int(segment.frame_rate)


def _ffmpeg_reason(exc: BaseException) -> str:
    """The last informative line of ffmpeg's complaint (pydub passes ffmpeg's whole log)."""
    if isinstance(exc, (IndexError, KeyError)):
        return "no audio stream found"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Decoding failed", "Output from"))]
    return _one_line((useful or lines or ["unknown error"])[-1])


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."

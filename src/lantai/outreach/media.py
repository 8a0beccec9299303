"""Recognise interview recordings (wav, mp3, mp4) by their bytes and read their duration where
that is cheap: WAV from its header, MP4 from the ``mvhd`` box, MP3 from the Xing/Info frame
count or, for constant bit rate, size ÷ bit rate. No external tools (no ffprobe on servers).
"""

from __future__ import annotations

import struct
import wave
from typing import BinaryIO

FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg", "mp4": "video/mp4"}

_MP3_BITRATES = {  # MPEG-1 Layer III, kbit/s
    1: 32, 2: 40, 3: 48, 4: 56, 5: 64, 6: 80, 7: 96, 8: 112,
    9: 128, 10: 160, 11: 192, 12: 224, 13: 256, 14: 320,
}  # fmt: skip
_MP3_V2_BITRATES = {  # MPEG-2/2.5 Layer III
    1: 8, 2: 16, 3: 24, 4: 32, 5: 40, 6: 48, 7: 56, 8: 64,
    9: 80, 10: 96, 11: 112, 12: 128, 13: 144, 14: 160,
}  # fmt: skip
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def sniff(head: bytes) -> str | None:
    """ "wav", "mp3", "mp4" or None from the first bytes of a file."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def _size(fh: BinaryIO) -> int:
    fh.seek(0, 2)
    size = fh.tell()
    fh.seek(0)
    return size


def _wav_duration(fh: BinaryIO) -> float | None:
    with wave.open(fh, "rb") as wav:
        rate = wav.getframerate()
        return wav.getnframes() / rate if rate else None


def _mp4_duration(fh: BinaryIO) -> float | None:
    """Walk top-level boxes to moov, then its children to mvhd."""
    size = _size(fh)

    def walk(start: int, end: int, want: bytes) -> tuple[int, int] | None:
        pos = start
        while pos + 8 <= end:
            fh.seek(pos)
            length, kind = struct.unpack(">I4s", fh.read(8))
            header = 8
            if length == 1:
                length = struct.unpack(">Q", fh.read(8))[0]
                header = 16
            elif length == 0:
                length = end - pos
            if length < header:
                return None
            if kind == want:
                return pos + header, pos + length
            pos += length
        return None

    moov = walk(0, size, b"moov")
    if moov is None:
        return None
    mvhd = walk(moov[0], moov[1], b"mvhd")
    if mvhd is None:
        return None
    fh.seek(mvhd[0])
    version = fh.read(4)[0]
    if version == 1:
        _created, _modified, scale, duration = struct.unpack(">QQIQ", fh.read(28))
    else:
        _created, _modified, scale, duration = struct.unpack(">IIII", fh.read(16))
    return duration / scale if scale else None


def _mp3_duration(fh: BinaryIO) -> float | None:
    size = _size(fh)
    head = fh.read(10)
    offset = 0
    if head[:3] == b"ID3" and len(head) == 10:
        offset = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9])
    fh.seek(offset)
    frame = fh.read(4)
    if len(frame) < 4 or frame[0] != 0xFF or frame[1] & 0xE0 != 0xE0:
        return None
    version = (frame[1] >> 3) & 0x3  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    bitrate_index = frame[2] >> 4
    rate_index = (frame[2] >> 2) & 0x3
    if version not in _MP3_RATES or rate_index == 3:
        return None
    rate = _MP3_RATES[version][rate_index]
    table = _MP3_BITRATES if version == 3 else _MP3_V2_BITRATES
    samples = 1152 if version == 3 else 576
    # Xing/Info header (VBR): the frame count gives an exact duration.
    fh.seek(offset)
    first = fh.read(200)
    for tag in (b"Xing", b"Info"):
        at = first.find(tag)
        if at != -1 and len(first) >= at + 12:
            flags = struct.unpack(">I", first[at + 4 : at + 8])[0]
            if flags & 1:
                frames = struct.unpack(">I", first[at + 8 : at + 12])[0]
                return frames * samples / rate
    kbps = table.get(bitrate_index)
    if not kbps:
        return None
    return (size - offset) * 8 / (kbps * 1000)


def probe(fh: BinaryIO) -> tuple[str | None, float | None]:
    """(format, duration in seconds or None) of a seekable file; format None if unknown."""
    fh.seek(0)
    fmt = sniff(fh.read(16))
    fh.seek(0)
    duration = None
    try:
        if fmt == "wav":
            duration = _wav_duration(fh)
        elif fmt == "mp4":
            duration = _mp4_duration(fh)
        elif fmt == "mp3":
            duration = _mp3_duration(fh)
    except (wave.Error, struct.error, EOFError, IndexError):
        # A damaged header: the format stands, the duration stays unknown.
        duration = None
    fh.seek(0)
    return fmt, (round(duration, 3) if duration is not None else None)

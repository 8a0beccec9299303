"""Time-coded transcripts 转写稿: parse WebVTT, SRT and the plain "[00:01:23] 说话人：文字"
format, and write WebVTT.

Pure functions over text; the services store the segments. A cue's speaker is written as a
WebVTT voice span ``<v 说话人>`` and read back from one, or from a leading "说话人：" /
"speaker:" in SRT and plain text.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_SEGMENTS = 20_000


@dataclass
class Segment:
    start: float
    end: float | None
    speaker: str
    text: str


_TIME = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?"
_CUE_TIMES = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
_PLAIN = re.compile(rf"^\s*\[{_TIME}\]\s*(.*)$")
_VOICE = re.compile(r"^<v(?:\.[^ >]*)?\s+([^>]+)>(.*?)(?:</v>)?$", re.S)
_SPEAKER = re.compile(r"^([^：:\s][^：:]{0,30})[：:]\s*(.+)$", re.S)
_TAGS = re.compile(r"</?[a-z][^>]*>", re.I)


def _seconds(groups: tuple) -> float:
    hours, minutes, seconds, fraction = groups
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        raise ValueError("bad time")
    if fraction:
        value += int(fraction.ljust(3, "0")) / 1000
    return float(value)


def format_time(seconds: float, sep: str = ".") -> str:
    """00:01:23.500 (WebVTT) or with ``sep=","`` (SRT)."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def _split_speaker(text: str) -> tuple[str, str]:
    voice = _VOICE.match(text)
    if voice:
        return voice.group(1).strip(), _TAGS.sub("", voice.group(2)).strip()
    text = _TAGS.sub("", text).strip()
    named = _SPEAKER.match(text)
    if named:
        return named.group(1).strip(), named.group(2).strip()
    return "", text


def detect_format(text: str) -> str:
    """ "vtt", "srt" or "plain"."""
    head = text.lstrip("\ufeff").lstrip()
    if head.startswith("WEBVTT"):
        return "vtt"
    if _PLAIN.match(head.splitlines()[0] if head else ""):
        return "plain"
    return "srt"


def _cues(text: str, line_error: str) -> list[Segment]:
    segments: list[Segment] = []
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if lines[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        index = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if index is None or index > 1:
            raise ValidationError(line_error % {"text": lines[0][:60]})
        match = _CUE_TIMES.match(lines[index])
        if not match:
            raise ValidationError(line_error % {"text": lines[index][:60]})
        try:
            start = _seconds(match.groups()[:4])
            end = _seconds(match.groups()[4:8])
        except ValueError:
            raise ValidationError(line_error % {"text": lines[index][:60]}) from None
        speaker, body = _split_speaker("\n".join(lines[index + 1 :]).strip())
        if not body:
            continue
        segments.append(Segment(start, end, speaker, body))
    return segments


def _plain(text: str) -> list[Segment]:
    segments: list[Segment] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _PLAIN.match(line)
        if not match:
            if segments:  # a continuation line belongs to the previous segment
                segments[-1].text += "\n" + line.strip()
                continue
            raise ValidationError(
                _("第 %(n)d 行不是“[时:分:秒] 说话人：文字”格式：%(text)s")
                % {"n": number, "text": line[:60]}
            )
        try:
            start = _seconds(match.groups()[:4])
        except ValueError:
            raise ValidationError(_("第 %(n)d 行的时间不正确。") % {"n": number}) from None
        speaker, body = _split_speaker(match.group(5))
        segments.append(Segment(start, None, speaker, body))
    # A plain line lasts until the next one starts.
    for current, following in itertools.pairwise(segments):
        current.end = following.start
    return segments


def parse(text: str, fmt: str = "auto") -> list[Segment]:
    """Segments of a transcript in ``fmt`` ("vtt", "srt", "plain" or "auto").

    Raises ValidationError with a Chinese message naming the bad line."""
    text = (text or "").lstrip("\ufeff")
    if not text.strip():
        raise ValidationError(_("转写稿为空。"))
    if fmt == "auto":
        fmt = detect_format(text)
    if fmt == "vtt":
        if not text.lstrip().startswith("WEBVTT"):
            raise ValidationError(_("WebVTT 文件须以“WEBVTT”开头。"))
        segments = _cues(text, _("无法识别的 WebVTT 片段：%(text)s"))
    elif fmt == "srt":
        segments = _cues(text, _("无法识别的 SRT 片段：%(text)s"))
    elif fmt == "plain":
        segments = _plain(text)
    else:
        raise ValidationError(_("不支持的转写稿格式：%(f)s") % {"f": fmt})
    if not segments:
        raise ValidationError(_("转写稿中没有可导入的片段。"))
    if len(segments) > MAX_SEGMENTS:
        raise ValidationError(_("转写稿片段过多（最多 %(n)d 段）。") % {"n": MAX_SEGMENTS})
    for number, segment in enumerate(segments, 1):
        if segment.end is not None and segment.end < segment.start:
            raise ValidationError(
                _("第 %(n)d 段的结束时间早于开始时间（%(t)s）。")
                % {"n": number, "t": format_time(segment.start)}
            )
    return segments


def to_webvtt(segments) -> str:
    """WebVTT of ``segments`` (objects with start, end, speaker, text). A segment without an
    end lasts until the next one, the last one five seconds."""
    items = list(segments)
    out = ["WEBVTT", ""]
    for index, segment in enumerate(items):
        end = segment.end
        if end is None:
            end = items[index + 1].start if index + 1 < len(items) else segment.start + 5
        # A cue's text may not contain "-->" or a blank line.
        body = re.sub(r"\n\s*\n", "\n", segment.text.replace("-->", "→")).strip()
        if segment.speaker:
            body = f"<v {segment.speaker}>{body}"
        out += [str(index + 1), f"{format_time(segment.start)} --> {format_time(end)}", body, ""]
    return "\n".join(out)


def to_plain_text(segments) -> str:
    """The full text 全文 for search: "[00:01:23] 说话人：文字" per segment."""
    lines = []
    for segment in segments:
        stamp = format_time(segment.start)[:8]
        who = f"{segment.speaker}：" if segment.speaker else ""
        lines.append(f"[{stamp}] {who}{segment.text}")
    return "\n".join(lines) + "\n"

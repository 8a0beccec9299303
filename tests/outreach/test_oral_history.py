"""Oral history 口述档案 and compilation 编研: transcripts import/export (WebVTT, SRT, plain),
recordings recognised with their duration, the 口述 item with its full-text component, the
embargo, and compilation sources and publications."""

from __future__ import annotations

import datetime as dt
import io
import struct
import wave

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from lantai.holdings.models import Openness
from lantai.holdings.services import update_item, visible_items
from lantai.outreach import media, services, transcripts
from lantai.outreach.models import Interview
from lantai.storage.models import Component
from lantai.storage.services import open_object

pytestmark = pytest.mark.django_db

VTT = """WEBVTT

1
00:00:01.000 --> 00:00:04.500
<v 采访人>您是哪一年来到园区的？

2
00:00:05.000 --> 00:01:02.250
<v 张建国>1985年，那时候这里还是一片稻田。
后来第一栋厂房就建在这里。
"""

SRT = """1
00:00:01,000 --> 00:00:04,500
采访人：您是哪一年来到园区的？

2
00:00:05,000 --> 00:01:02,250
张建国：1985年，那时候这里还是一片稻田。
"""

PLAIN = """[00:00:01] 采访人：您是哪一年来到园区的？
[00:00:05] 张建国：1985年，那时候这里还是一片稻田。
[00:01:23] 张建国：后来第一栋厂房就建在这里。
"""


def wav_bytes(seconds=2, rate=8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * rate * seconds)
    return buffer.getvalue()


def mp4_bytes(seconds=90, scale=1000) -> bytes:
    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 512, b"isom")
    mvhd_body = (
        b"\x00\x00\x00\x00" + struct.pack(">IIII", 0, 0, scale, seconds * scale) + b"\0" * 80
    )
    mvhd = struct.pack(">I4s", 8 + len(mvhd_body), b"mvhd") + mvhd_body
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    return ftyp + moov


def mp3_bytes(seconds=3) -> bytes:
    # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417-byte frames; CBR size ÷ rate = duration.
    frame = bytes([0xFF, 0xFB, 0x90, 0x00]) + b"\0" * 413
    return frame * round(seconds * 128000 / 8 / 417)


def test_parse_three_formats_agree():
    vtt, srt, plain = (transcripts.parse(t) for t in (VTT, SRT, PLAIN))
    assert [s.speaker for s in vtt] == ["采访人", "张建国"]
    assert [(s.start, s.end) for s in vtt] == [(1.0, 4.5), (5.0, 62.25)]
    assert [(s.start, s.end, s.speaker) for s in srt] == [
        (1.0, 4.5, "采访人"),
        (5.0, 62.25, "张建国"),
    ]
    assert srt[1].text == "1985年，那时候这里还是一片稻田。"
    assert [(s.start, s.end) for s in plain] == [(1.0, 5.0), (5.0, 83.0), (83.0, None)]
    assert "第一栋厂房" in vtt[1].text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "为空"),
        ("WEBVTT\n\n1\n00:00:05.000 --> 00:00:01.000\n文字\n", "结束时间早于开始时间"),
        ("WEBVTT\n\n1\n00:00:xx --> 00:00:01.000\n文字\n", "无法识别"),
        ("[00:00:01] 甲：好\n[00:61:00] 乙：不好\n", "时间不正确"),
        ("没有时间码的一行\n", "无法识别"),
    ],
)
def test_parse_errors_are_chinese(text, message):
    with pytest.raises(ValidationError) as exc:
        transcripts.parse(text)
    assert message in " ".join(exc.value.messages)


def test_webvtt_round_trip():
    segments = transcripts.parse(VTT)
    again = transcripts.parse(transcripts.to_webvtt(segments), "vtt")
    assert [(s.start, s.end, s.speaker, s.text) for s in again] == [
        (s.start, s.end, s.speaker, s.text) for s in segments
    ]
    # Plain text has no ends: the export closes each cue at the next one's start.
    exported = transcripts.to_webvtt(transcripts.parse(PLAIN))
    assert "00:00:05.000 --> 00:01:23.000" in exported
    assert "00:01:23.000 --> 00:01:28.000" in exported


def test_media_probe_formats_and_durations():
    assert media.probe(io.BytesIO(wav_bytes(2))) == ("wav", 2.0)
    assert media.probe(io.BytesIO(mp4_bytes(90))) == ("mp4", 90.0)
    fmt, duration = media.probe(io.BytesIO(mp3_bytes(3)))
    assert fmt == "mp3" and duration == pytest.approx(3, abs=0.05)
    assert media.probe(io.BytesIO(b"%PDF-1.7 not audio")) == (None, None)


@pytest.fixture
def interview(archivist, fonds, series):
    project = services.save_oh_project(
        archivist, {"title": "科技园区四十年口述", "fonds": fonds, "series": series}
    )
    person = services.save_interviewee(
        archivist,
        {"project": project, "name": "张建国", "birth_year": 1950, "contact": "13700000000"},
    )
    return services.save_interview(
        archivist,
        {
            "project": project,
            "interviewee": person,
            "title": "张建国谈园区初创",
            "date": dt.date(2024, 5, 8),
            "place": "园区档案室",
            "interviewer": "李娜",
            "rights": "著作权归档案馆",
            "permitted_uses": "馆内查阅、展览",
        },
        consent=SimpleUploadedFile("授权书.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
    )


def test_consent_must_be_pdf(archivist, interview):
    with pytest.raises(ValidationError) as exc:
        services.save_interview(
            archivist,
            {"title": interview.title},
            consent=SimpleUploadedFile("x.pdf", b"GIF89a", "application/pdf"),
            interview=interview,
        )
    assert "PDF" in str(exc.value)
    assert interview.consent.size > 0


def test_keeper_cannot_touch_oral_history(keeper, interview):
    with pytest.raises(PermissionDenied):
        services.import_transcript(keeper, interview, PLAIN)


def test_item_with_recordings_and_searchable_text(archivist, interview):
    services.add_media(archivist, interview, SimpleUploadedFile("a.wav", wav_bytes(2)))
    with pytest.raises(ValidationError):
        services.add_media(archivist, interview, SimpleUploadedFile("a.wav", b"not audio"))
    assert services.import_transcript(archivist, interview, VTT) == 2
    item = services.create_item(archivist, interview)
    assert item.category.code == "KS" and item.series_id == interview.project.series_id
    assert item.openness == Openness.UNREVIEWED and item.carrier == "audiovisual"
    assert item.extra["interviewee"] == "张建国" and item.reference_code
    interview.refresh_from_db()
    assert interview.item == item and interview.duration == 2
    master = Component.objects.get(item=item, role="master")
    assert master.filename == "a.wav"
    text = Component.objects.get(item=item, role="text")
    with open_object(text.object) as stream:
        content = stream.read().decode()
    assert "一片稻田" in content and "张建国：" in content
    # A new transcript replaces the full text.
    services.import_transcript(archivist, interview, PLAIN)
    text = Component.objects.get(item=item, role="text")
    with open_object(text.object) as stream:
        assert "[00:01:23] 张建国：后来第一栋厂房" in stream.read().decode()
    with pytest.raises(ValidationError):
        services.create_item(archivist, interview)
    assert services.export_webvtt(interview).startswith("WEBVTT")


def test_the_transcript_is_searchable_once_committed(
    archivist, interview, django_capture_on_commit_callbacks
):
    from lantai.search import services as search

    with django_capture_on_commit_callbacks(execute=True):
        services.import_transcript(archivist, interview, VTT)
        item = services.create_item(archivist, interview)
    with django_capture_on_commit_callbacks(execute=True):
        services.import_transcript(archivist, interview, PLAIN)
    hits = search.search(None, "第一栋厂房").hits
    assert [h.item_id for h in hits] == [item.pk]


def test_embargo_keeps_the_item_restricted(archivist, interview):
    interview.embargo_until = timezone.localdate() + dt.timedelta(days=365)
    interview.save()
    services.import_transcript(archivist, interview, PLAIN)
    item = services.create_item(archivist, interview)
    assert item.openness == Openness.RESTRICTED
    from django.contrib.auth.models import AnonymousUser

    assert not visible_items(AnonymousUser()).filter(pk=item.pk).exists()
    with pytest.raises(ValidationError) as exc:
        update_item(archivist, item, {"openness": Openness.OPEN})
    assert "限制利用期" in str(exc.value)
    Interview.objects.filter(pk=interview.pk).update(embargo_until=dt.date(2000, 1, 1))
    update_item(archivist, item, {"openness": Openness.OPEN})


def test_compilation_sources_and_publications(archivist, keeper, make_item):
    project = services.save_project(
        archivist, {"title": "园区大事记", "status": "active", "team": [archivist]}
    )
    assert list(project.team.all()) == [archivist]
    item = make_item(openness=Openness.RESTRICTED)  # staff may compile from restricted items
    services.add_source(archivist, project, item, "大事记1990年条")
    with pytest.raises(ValidationError):
        services.add_source(archivist, project, item)
    with pytest.raises(PermissionDenied):
        services.add_source(keeper, project, item)
    with pytest.raises(ValidationError) as exc:
        services.save_publication(
            archivist,
            {"project": project, "title": "书", "kind": "book", "isbn": "123", "year": 2024},
        )
    assert "ISBN" in str(exc.value)
    publication = services.save_publication(
        archivist,
        {
            "project": project,
            "title": "科技园区大事记",
            "kind": "book",
            "isbn": "978-7-5000-0000-1",
            "year": 2024,
        },
        SimpleUploadedFile("大事记.pdf", b"%PDF-1.4\n%%EOF\n"),
    )
    assert publication.isbn == "9787500000001" and publication.file.size > 0
    from lantai.outreach import stats

    figures = {f.key: f for f in stats.annual_figures(2024)}
    assert figures["outreach.compilations_published"].value == 1
    assert figures["outreach.compilations_published"].breakdown["书"] == 1

"""SRT and WebVTT from transcripts, read back with independent parsers (PyPI ``srt``, ``webvtt-py``).

Every check reads the rendered file the way a player would: cue times, lines, speakers and words
come from the parsers, never from ``shared.output.subtitles`` itself.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

import pytest
import srt
import webvtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.output.formats import FORMATS, render
from shared.output.subtitles import LINE_CHARS, speaker_label, to_srt, to_webvtt
from shared.output.transcript import AudioInfo, Segment, Transcript


@dataclass(frozen=True)
class ParsedCue:
    start_ms: int
    end_ms: int
    speaker: str
    lines: list[str]  # as displayed: no speaker prefix or tag, entities decoded

    @property
    def words(self) -> list[str]:
        return " ".join(self.lines).split()


def transcript(segments: list[Segment], duration: float) -> Transcript:
    return Transcript(
        source={"container": "audio-in", "name": "t.wav"},
        language="en-US",
        audio=AudioInfo("wav/pcm", 16000, 1, 16, duration),
        segments=segments,
    )


_SRT_SPEAKER = re.compile(r"^\[(.+?)\] (.*)$")


def check_widths(lines: list[str], shown: list[str], long_words: bool) -> None:
    """Lines fit ``LINE_CHARS`` (``lines`` as displayed, SRT prefix included); with ``long_words`` a
    line holding one word only (``shown``: its text) may be longer: a word timed whole stays whole."""
    for line, text in zip(lines, shown, strict=True):
        assert len(line) <= LINE_CHARS or (long_words and " " not in text), lines


def parse_srt(text: str, long_words: bool = False) -> list[ParsedCue]:
    parsed = []
    for sub in srt.parse(text):
        lines = sub.content.split("\n")
        assert 1 <= len(lines) <= 2, sub.content
        match = _SRT_SPEAKER.match(lines[0])
        assert match, f"cue without a [speaker] prefix: {lines[0]!r}"
        check_widths(lines, [match.group(2), *lines[1:]], long_words)  # the prefix is visible: it counts
        parsed.append(
            ParsedCue(
                _ms(sub.start.total_seconds()),
                _ms(sub.end.total_seconds()),
                match.group(1),
                [match.group(2), *lines[1:]],
            )
        )
    return parsed


def parse_vtt(text: str, long_words: bool = False) -> list[ParsedCue]:
    parsed = []
    for caption in webvtt.from_string(text, strict=True).captions:
        assert caption.voice, f"cue without a voice tag: {caption.raw_text!r}"
        lines = [html.unescape(line) for line in caption.text.split("\n")]
        assert 1 <= len(lines) <= 2, lines
        check_widths(lines, lines, long_words)
        assert "<" not in caption.raw_text[caption.raw_text.index(">") + 1 :], "unescaped < after the voice tag"
        parsed.append(
            ParsedCue(
                caption.start_time.in_milliseconds(),
                caption.end_time.in_milliseconds(),
                html.unescape(caption.voice),
                lines,
            )
        )
    return parsed


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


PARSERS = {"srt": (to_srt, parse_srt), "vtt": (to_webvtt, parse_vtt)}


def both(t: Transcript, long_words: bool = False) -> dict[str, list[ParsedCue]]:
    return {name: parse(render_(t), long_words) for name, (render_, parse) in PARSERS.items()}


def check_file_rules(cues: list[ParsedCue], duration: float) -> None:
    """What holds for any transcript: monotonic starts, positive cues, all inside the audio."""
    starts = [c.start_ms for c in cues]
    assert starts == sorted(starts), "cue start times go backwards"
    for cue in cues:
        assert 0 <= cue.start_ms < cue.end_ms <= duration * 1000 + 1e-6, cue
        assert cue.speaker.strip()


def check_segments(cues: list[ParsedCue], segments: list[Segment]) -> None:
    """Cues in order belong to segments in order (segments apart in time): speaker, words and times."""
    remaining = list(cues)
    for seg in segments:
        target = "".join(seg.text.split())
        if not target:
            continue
        own, got = [], ""
        while len(got) < len(target):
            cue = remaining.pop(0)
            own.append(cue)
            got += "".join(cue.words)
        assert got == target, "cue text does not match the segment's characters"
        assert {c.speaker for c in own} == {speaker_label(seg.speaker)}
        seg_start, seg_end = _ms(seg.start), _ms(seg.end)
        if seg_end - seg_start >= len(own):  # room for 1 ms per cue: the cues tile the segment
            assert own[0].start_ms == seg_start
            assert own[-1].end_ms == seg_end
            assert all(a.end_ms == b.start_ms for a, b in zip(own, own[1:], strict=False))
        else:  # stretched to 1 ms per cue, and no more
            assert own[0].start_ms >= seg_start - len(own)
            assert own[-1].end_ms <= seg_start + len(own)
    assert not remaining, "cues left over that no segment accounts for"


# -- examples ----------------------------------------------------------------------------------------
def test_empty_transcript_gives_valid_empty_files():
    t = transcript([], 0.0)
    assert parse_srt(to_srt(t)) == []
    assert parse_vtt(to_webvtt(t)) == []
    assert to_webvtt(t).startswith("WEBVTT")


def test_long_segment_is_split_at_words_with_time_shared_by_characters():
    text = (
        "The quarterly numbers look considerably better than anybody on the finance team "
        "expected, mostly because two large customers renewed early and one paid a whole year"
    )
    words = text.split()
    seg = Segment("Guest-1", 1.0, 13.0, text)
    for name, cues in both(transcript([seg], 14.0)).items():
        assert len(cues) >= 2, name
        assert [w for c in cues for w in c.words] == words
        check_file_rules(cues, 14.0)
        check_segments(cues, [seg])
        chars = [len("".join(c.words)) for c in cues]
        for cue, n in zip(cues, chars, strict=True):
            share = (cue.end_ms - cue.start_ms) / 12_000
            assert share == pytest.approx(n / sum(chars), abs=0.002), (name, cue)


def test_a_word_longer_than_a_line_is_broken_across_lines():
    url = "https://example.org/" + "a-very-long-path-segment/" * 5
    seg = Segment("Guest-2", 0.0, 4.0, f"see {url} please")
    for name, cues in both(transcript([seg], 4.0)).items():
        assert "".join("".join(c.words) for c in cues) == "".join(seg.text.split()), name
        assert sum(len(c.lines) for c in cues) >= 3
        check_file_rules(cues, 4.0)


def test_zero_length_segments_get_one_millisecond_inside_the_audio():
    segs = [Segment("Guest-1", 2.0, 2.0, "blip"), Segment("Guest-2", 5.0, 5.0, "end")]
    for name, cues in both(transcript(segs, 5.0)).items():
        assert [(c.start_ms, c.end_ms) for c in cues] == [(2000, 2001), (4999, 5000)], name
        check_file_rules(cues, 5.0)


def test_times_past_the_end_of_the_audio_are_cut_back():
    segs = [Segment("Guest-1", 0.5, 3.2, "said before the end"), Segment("Guest-1", 3.4, 9.0, "and after it")]
    for cues in both(transcript(segs, 4.0)).values():
        check_file_rules(cues, 4.0)
        assert cues[-1].end_ms == 4000


def test_text_that_looks_like_markup_is_escaped_in_webvtt_and_kept_in_srt():
    text = "if a < b && c > d --> then <b>bold</b> &amp; done"
    seg = Segment("Guest & <Co>", 0.0, 6.0, text)
    raw = to_webvtt(transcript([seg], 6.0))
    assert "<b>" not in raw
    assert "-->" not in raw.split("\n", 3)[3]
    for cues in both(transcript([seg], 6.0)).values():
        assert [w for c in cues for w in c.words] == text.split()
        assert {c.speaker for c in cues} == {"Guest & <Co>"}


def test_overlapping_speakers_give_overlapping_cues_with_monotonic_starts():
    long_text = " ".join(["word"] * 40)
    segs = [
        Segment("Guest-1", 0.0, 10.0, long_text),
        Segment("Guest-2", 2.0, 3.0, "yes"),
        Segment("Guest-2", 1.0, 1.5, "given out of order"),
    ]
    for cues in both(transcript(segs, 10.0)).values():
        check_file_rules(cues, 10.0)
        guest1 = [c for c in cues if c.speaker == "Guest-1"]
        assert guest1[0].start_ms == 0
        assert guest1[-1].end_ms == 10_000
        assert any(c.speaker == "Guest-2" and guest1[0].start_ms < c.start_ms < guest1[0].end_ms for c in cues)


def test_unnamed_and_long_speakers_still_leave_room_for_text():
    segs = [
        Segment("  ", 0.0, 2.0, "nobody said who"),
        Segment("A speaker label far longer than any line could hold", 2.0, 6.0, "x " * 30),
    ]
    for cues in both(transcript(segs, 6.0)).values():
        assert cues[0].speaker == "Unknown"
        assert all(len(c.speaker) <= 24 for c in cues)
        check_segments(cues, segs)


def test_format_registry_renders_all_four_formats():
    seg = Segment("Guest-1", 0.0, 1.5, "hello there")
    t = transcript([seg], 2.0)
    assert set(FORMATS) == {"json", "txt", "srt", "vtt"}
    assert json.loads(render(t, "json"))["segments"][0]["text"] == "hello there"
    assert render(t, "txt") == t.to_text()
    assert parse_srt(render(t, "SRT"))[0].words == ["hello", "there"]
    assert parse_vtt(render(t, "vtt"))[0].speaker == "Guest-1"
    assert {f.extension for f in FORMATS.values()} == set(FORMATS)
    assert FORMATS["vtt"].content_type == "text/vtt"
    assert FORMATS["srt"].content_type == "application/x-subrip"
    with pytest.raises(ValueError, match="srt"):
        render(t, "docx")


# -- properties ---------------------------------------------------------------------------------------
_alphabet = st.characters(codec="utf-8", categories=("L", "N", "P", "S"))
_word = st.one_of(st.text(_alphabet, min_size=1, max_size=12), st.text(_alphabet, min_size=30, max_size=100))
_speaker = st.sampled_from(["Guest-1", "Guest-2", "Unknown", "", "Guest & <3>", "Sprecher [A]", "x" * 30])


@st.composite
def separated_segments(draw):
    """Segments in time order with gaps, some zero-length or tiny, some without text."""
    segments, clock = [], draw(st.integers(0, 2000))
    for _ in range(draw(st.integers(0, 8))):
        length = draw(st.one_of(st.just(0), st.integers(1, 5), st.integers(6, 20_000)))
        words = draw(st.lists(_word, max_size=40))
        segments.append(Segment(draw(_speaker), clock / 1000, (clock + length) / 1000, " ".join(words)))
        clock += length + draw(st.integers(100, 3000))
    duration = (clock + draw(st.integers(0, 2000))) / 1000
    return segments, duration


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(separated_segments())
def test_any_transcript_renders_files_the_parsers_accept(case):
    segments, duration = case
    for cues in both(transcript(segments, duration)).values():
        check_file_rules(cues, duration)
        check_segments(cues, segments)
        narrow = LINE_CHARS - len(" [] ") - 24  # the first line of an SRT cue with the longest label
        if all(len(w) <= narrow for s in segments for w in s.text.split()):
            assert [w for c in cues for w in c.words] == [w for s in segments for w in s.text.split()]


@st.composite
def overlapping_segments(draw):
    duration = draw(st.integers(1000, 60_000))
    segments = []
    for _ in range(draw(st.integers(1, 8))):
        start = draw(st.integers(0, duration))
        end = draw(st.integers(start, duration + 3000))  # the service may report past the end
        words = draw(st.lists(_word, min_size=1, max_size=30))
        segments.append(Segment(draw(_speaker), start / 1000, end / 1000, " ".join(words)))
    return segments, duration / 1000


@settings(max_examples=200, deadline=None)
@given(overlapping_segments())
def test_overlapping_and_unordered_segments_keep_starts_monotonic_and_inside_the_audio(case):
    segments, duration = case
    for cues in both(transcript(segments, duration)).values():
        check_file_rules(cues, duration)
        # Cues of different segments interleave here, so compare the characters as a multiset.
        spoken = "".join("".join(s.text.split()) for s in segments)
        assert sorted("".join("".join(c.words) for c in cues)) == sorted(spoken)

"""Subtitles of segments with word times (``shared.output.word_cues``), read back with ``srt`` and ``webvtt-py``.

With word times a cue shows while its words are spoken and never breaks inside one; every other
rule of ``shared.output.subtitles`` still holds, so these reuse its tests' parsers and file checks.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.output.subtitles import to_srt, to_webvtt
from shared.output.transcript import Segment, Word
from tests.test_subtitles import ParsedCue, _ms, _speaker, _word, both, check_file_rules, transcript


def timed(speaker: str, start_ms: int, shown: str, heard: str, step_ms: int = 400) -> Segment:
    """A segment showing ``shown`` whose words (``heard``, the service's lexical form) take ``step_ms`` each."""
    words = tuple(
        Word(w, (start_ms + i * step_ms) / 1000, (start_ms + (i + 1) * step_ms - 50) / 1000, 0.9)
        for i, w in enumerate(heard.split())
    )
    return Segment(speaker, start_ms / 1000, (start_ms + len(words) * step_ms) / 1000, shown, words=words)


def check_word_times(cues: list[ParsedCue], segments: list[Segment]) -> None:
    """Segments in time order whose words are ordered and inside them, shown as heard (punctuation aside):
    every cue holds whole words, starts at its first word's start and ends at its last word's end."""
    words = [w for s in segments for w in s.words]
    assert [w for c in cues for w in c.words] == [w for s in segments for w in s.text.split()]
    done = 0
    for cue in cues:
        own = words[done : done + len(cue.words)]
        done += len(cue.words)
        assert (cue.start_ms, cue.end_ms) == (_ms(own[0].start), _ms(own[-1].end)), cue


def test_cues_take_their_times_from_their_words_and_show_the_display_text():
    seg = timed(
        "Guest-1",
        1000,
        "Good morning, thank you for calling the help desk. My number is 23, and I'd "
        "like to talk about my e-mail at contoso.com today, please.",
        "good morning thank you for calling the help desk my number is twenty three and i'd like to "
        "talk about my e mail at contoso dot com today please",
    )
    # The recognised words (first, last) in each display word: "23," is "twenty three", "e-mail" two words.
    spans = (
        [(i, i) for i in range(12)]
        + [(12, 13)]
        + [(i, i) for i in range(14, 21)]
        + [(21, 22), (23, 23), (24, 26), (27, 27), (28, 28)]
    )
    for name, cues in both(transcript([seg], 20.0)).items():
        assert len(cues) >= 2, name
        assert [w for c in cues for w in c.words] == seg.text.split()
        check_file_rules(cues, 20.0)
        done = 0
        for cue in cues:  # every cue shows while its words are spoken: from its first to its last
            first, last = spans[done][0], spans[done + len(cue.words) - 1][1]
            done += len(cue.words)
            assert (cue.start_ms, cue.end_ms) == (_ms(seg.words[first].start), _ms(seg.words[last].end)), name


def test_a_word_longer_than_a_line_stays_whole_on_a_line_of_its_own():
    url = "https://example.org/" + "a-very-long-path-segment/" * 4
    seg = timed("Guest-2", 0, f"see {url} please", f"see {url} please")
    for name, cues in both(transcript([seg], 4.0), long_words=True).items():
        assert [w for c in cues for w in c.words] == ["see", url, "please"], name
        assert any(line == url for c in cues for line in c.lines)
        check_word_times(cues, [seg])
        check_file_rules(cues, 4.0)


def test_a_sentence_without_spaces_breaks_only_between_its_words():
    heard = [
        "今天",
        "天气",
        "很",
        "好",
        "我们",
        "去",
        "公园",
        "散步",
        "吧",
        "然后",
        "我们",
        "一起",
        "吃",
        "午饭",
        "好不好",
        "下午",
        "我",
        "还要",
        "去",
        "图书馆",
        "借",
        "几",
        "本",
        "关于",
        "历史",
        "的",
        "书",
        "晚上",
        "我们",
        "再",
        "一起",
        "看",
        "一部",
        "很",
        "长",
        "的",
        "电影",
        "怎么样",
    ] * 2
    shown = "".join(heard[:9]) + "。" + "".join(heard[9:15]) + "？" + "".join(heard[15:]) + "。"
    seg = timed("Guest-1", 2000, shown, " ".join(heard))
    ends = {len("".join(heard[: i + 1])) for i in range(len(heard))}  # where a word ends, punctuation aside
    for name, cues in both(transcript([seg], 40.0)).items():
        assert len(cues) >= 2, name
        assert "".join("".join(c.lines) for c in cues) == shown, name
        done, starts = 0, {_ms(w.start) for w in seg.words}
        for cue in cues:
            for line in cue.lines:
                done += len(line.replace("。", "").replace("？", ""))
                assert done in ends, f"{name}: a line ends inside a word: {line!r}"
            assert cue.start_ms in starts
        check_file_rules(cues, 40.0)


def test_a_long_display_word_written_unlike_its_words_still_breaks_between_them():
    digits = "4929-1234-5678-9012-3456-7890-1234-5678-9012"  # read out digit by digit
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    seg = timed(
        "Guest-1",
        0,
        f"card {digits} thanks",
        " ".join(["card", *(names[int(d)] for d in digits if d.isdigit()), "thanks"]),
        200,
    )
    for name, cues in both(transcript([seg], 10.0)).items():  # no line longer than LINE_CHARS
        assert "".join("".join(c.words) for c in cues) == "".join(seg.text.split()), name
        check_file_rules(cues, 10.0)


def test_word_times_outside_their_segment_or_the_audio_are_clamped():
    words = (
        Word("before", 0.2, 0.9),
        Word("backwards", 2.5, 1.0),
        Word("same", 1.0, 1.0),
        Word("after", 9.0, 12.0),
    ) + tuple(Word("x" * 40, 3.0, 3.5) for _ in range(3))
    seg = Segment("Guest-1", 1.0, 6.0, " ".join(w.text for w in words), words=words)
    for name, cues in both(transcript([seg], 5.5), long_words=True).items():
        check_file_rules(cues, 5.5)
        assert cues[0].start_ms >= 1000, name
        assert cues[-1].end_ms <= 5500, name
        assert all(a.end_ms <= b.start_ms for a, b in zip(cues, cues[1:], strict=False))


def test_a_segment_with_an_empty_word_list_renders_as_without_word_times():
    plain = [Segment("Guest-1", 0.0, 9.0, "some words " * 12)]
    empty = [Segment("Guest-1", 0.0, 9.0, "some words " * 12, words=())]
    assert to_srt(transcript(empty, 9.0)) == to_srt(transcript(plain, 9.0))
    assert to_webvtt(transcript(empty, 9.0)) == to_webvtt(transcript(plain, 9.0))


_letters = st.characters(codec="utf-8", categories=("L", "Nd"))  # all str.isalnum(): heard as shown
_timed_word = st.one_of(st.text(_letters, min_size=1, max_size=10), st.text(_letters, min_size=43, max_size=60))


@st.composite
def word_timed_segments(draw, messy: bool):
    """Segments apart in time, with words. Clean: ordered words inside their segment, shown with
    punctuation added. Messy: any text, times anywhere near the segment (backwards, overlapping, zero)."""
    segments, clock = [], draw(st.integers(0, 2000))
    for _ in range(draw(st.integers(1, 5))):
        texts = draw(st.lists(_word if messy else _timed_word, min_size=1, max_size=20))
        words, shown, cursor = [], [], clock
        for text in texts:
            if messy:
                start, end = (draw(st.integers(clock - 1000, clock + 9000)) for _ in "se")
            else:
                start = cursor + draw(st.integers(0, 300))
                end = cursor = start + draw(st.integers(1, 900))
            words.append(Word(text, start / 1000, end / 1000, 0.5))
            shown.append(text + draw(st.sampled_from(["", "", ",", ".", "?", "…"])))
        end = (cursor if not messy else clock + draw(st.integers(0, 8000))) + draw(st.integers(0, 500))
        segments.append(Segment(draw(_speaker), clock / 1000, end / 1000, " ".join(shown), words=tuple(words)))
        clock = end + draw(st.integers(100, 3000))
    return segments, (clock + draw(st.integers(0, 2000))) / 1000


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(word_timed_segments(messy=False))
def test_word_timed_cues_hold_whole_words_and_take_their_times(case):
    segments, duration = case
    for cues in both(transcript(segments, duration), long_words=True).values():
        check_file_rules(cues, duration)
        check_word_times(cues, segments)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(word_timed_segments(messy=True))
def test_any_word_times_keep_cues_whole_inside_their_segment_and_in_order(case):
    segments, duration = case
    for cues in both(transcript(segments, duration), long_words=True).values():
        check_file_rules(cues, duration)
        assert [w for c in cues for w in c.words] == [w for s in segments for w in s.text.split()]
        done = 0
        for seg in segments:
            count = len(seg.text.split())
            own = []
            while count > 0:
                own.append(cues[done])
                count -= len(cues[done].words)
                done += 1
            start, end = _ms(seg.start), _ms(seg.end)
            if end - start >= len(own):
                assert start <= own[0].start_ms
                assert own[-1].end_ms <= end
            else:  # stretched to 1 ms per cue, and no more
                assert own[-1].end_ms <= start + len(own)
            assert all(a.end_ms <= b.start_ms for a, b in zip(own, own[1:], strict=False))

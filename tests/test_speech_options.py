"""A recording's ``RecognitionOptions`` through ``shared.speech.recognise``: the real SDK, the real emulator.

Each test runs the product's own session code (``SpeechSession``, one per channel with separate
channels) with the stack's token check, and checks two things: that the option reached the service
(the emulator's session log line lists the options it was sent, ``options=...``) and what came back
in the segments (words inside their segment, a language per segment, masked/removed/raw words, phrases
cut at the asked-for pause, the phrase list's names, one speaker label, channel names). Audio is short:
one sentence where one will do.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from shared.audio import AudioDecoder
from shared.options import RecognitionOptions, parse_text, validated
from shared.output.transcript import Segment
from shared.platform.credentials import fetch_token
from shared.settings import Settings
from tests import speech_audio
from tests.speech_audio import MULTILINGUAL, NAMES, NAMES_SENTENCE, PROFANE, PROFANE_SENTENCE, spoken
from tests.test_speech_emulator import wer, words

CANDIDATES = tuple(locale for _voice, locale, _text in MULTILINGUAL)  # en-US, de-DE, es-ES
ENDPOINT_ID = "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5"


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The test speech, made once; one short sentence where one will do."""
    folder = tmp_path_factory.mktemp("speech-options")
    return SimpleNamespace(
        multilingual=spoken(folder, "multilingual", [(voice, text) for voice, _locale, text in MULTILINGUAL]),
        names=speech_audio.speak(NAMES_SENTENCE, folder / "names.wav", words_per_minute=130),
        profane=speech_audio.speak(PROFANE_SENTENCE, folder / "profane.wav"),
        two_voices=spoken(folder, "two-voices", speech_audio.DIALOGUE[:2]),
    )


def recognise_file(path: Path, options: RecognitionOptions | None, *, channel_mode: str = "mix") -> list[Segment]:
    """``path`` through ``shared.speech.recognise`` as the pipeline runs it: a decoder, a fresh token, the options."""
    from shared.speech import recognise

    settings = Settings.from_env()
    with path.open("rb") as stream, AudioDecoder(stream, channel_mode=channel_mode) as decoder:
        return recognise(settings, fetch_token(settings), decoder.readers, options=options)


def options(**given: object) -> RecognitionOptions:
    """Options as a door would build them: validated (locales in the service's spelling)."""
    return validated(RecognitionOptions(**given))


class SessionLog:
    """The emulator's session lines logged after this point (one per session, when its socket closes)."""

    def __init__(self, stack: object) -> None:
        self.path = Path(stack.workdir) / "speech-emulator.log"
        self.start = len(self._lines())

    def _lines(self) -> list[str]:
        return self.path.read_text().splitlines() if self.path.exists() else []

    def wait_for(self, pattern: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            new = [line for line in self._lines()[self.start :] if " session path=" in line]
            found = [line for line in new if re.search(pattern, line)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no session logged matching {pattern!r}; new sessions: {new}")
            time.sleep(0.1)


def assert_words_inside(segment: Segment) -> None:
    """The segment's words: inside it, in order, joined equal to its text (case and punctuation aside)."""
    assert segment.words, segment
    cursor = segment.start
    for word in segment.words:
        assert cursor <= word.start <= word.end <= segment.end, (word, segment)
        assert word.confidence is not None, word
        assert 0.0 <= word.confidence <= 1.0, word
        cursor = word.start
    assert segment.words[-1].start > segment.words[0].start  # spread over the segment, not piled at one time
    assert " ".join(w.text for w in segment.words) == words(segment.text), segment


# -- without a session ---------------------------------------------------------------------------


def test_a_default_custom_model_is_not_sent_with_another_language() -> None:
    """SPEECH_CUSTOM_ENDPOINT_ID is SPEECH_LANGUAGE's model: a German request gets no English model."""
    from shared.speech.config import speech_config

    settings = Settings.from_env({"SPEECH_ENDPOINT": "ws://127.0.0.1:5000", "SPEECH_CUSTOM_ENDPOINT_ID": ENDPOINT_ID})
    german = parse_text({"languages": "de-DE"}, settings.recognition, percent_encoded=False)
    assert speech_config(settings, "", german).endpoint_id == ""
    assert speech_config(settings, "", None).endpoint_id == ENDPOINT_ID


def test_odd_tick_counts_are_left_out_and_words_come_in_time_order() -> None:
    """Ticks as text that are not a number (``--5``, ``²``) drop that word or duration, never the result."""
    from shared.speech.segments import SegmentFields, segment_from_result

    sent = [
        {"Word": "b", "Offset": "20000000", "Duration": 5_000_000, "Confidence": 0.9},
        {"Word": "a", "Offset": 10_000_000, "Duration": "--5", "Confidence": 0.8},
        {"Word": "x", "Offset": "²"},
        {"Word": "y", "Offset": "--5"},
        {"Word": "c", "Offset": " +30000000 "},
    ]
    result = SimpleNamespace(
        offset=0,
        duration=40_000_000,
        text="a b c",
        speaker_id="Guest-1",
        json=json.dumps({"Offset": 0, "NBest": [{"Confidence": 0.85, "Words": sent}]}),
    )
    segment = segment_from_result(result, SegmentFields(words=True))
    assert [(w.text, w.start, w.end) for w in segment.words] == [("a", 1.0, 1.0), ("b", 2.0, 2.5), ("c", 3.0, 3.0)]
    assert segment.confidence == 0.85


# -- through the emulator ------------------------------------------------------------------------


def test_no_options_is_the_app_language_and_the_service_defaults(stack, audio) -> None:
    """``options=None``: SPEECH_LANGUAGE, masked profanity, diarized speakers; no detailed fields."""
    log = SessionLog(stack)
    segments = recognise_file(audio.profane, None)

    assert len(segments) == 1, segments
    segment = segments[0]
    assert re.search(r"\bOh \*{4}, the \*{4} printer\b", segment.text), segment.text
    assert segment.speaker.startswith("Guest-")
    assert segment.words is None
    assert segment.language is None
    assert segment.confidence is None  # the detailed format (and its cost) only with words on
    log.wait_for(rf"language={Settings.from_env().speech_language} .*options=-$")


def test_words_come_back_inside_their_segments(stack, three_sentences_wav) -> None:
    segments = recognise_file(three_sentences_wav, options(words=True))

    assert len(segments) == 3, [s.text for s in segments]
    for segment in segments:
        assert_words_inside(segment)
        assert segment.confidence is not None
        assert 0.0 <= segment.confidence <= 1.0
    assert wer(" ".join(speech_audio.THREE_SENTENCES), " ".join(s.text for s in segments)) <= 0.25


def test_a_language_per_segment_with_per_locale_custom_models(stack, audio) -> None:
    """English, then German, then Spanish, among three candidates: each segment says its own language."""
    log = SessionLog(stack)
    asked = options(languages=CANDIDATES, custom_endpoint_ids=(("de-DE", ENDPOINT_ID), ("es-ES", ENDPOINT_ID)))
    segments = recognise_file(audio.multilingual, asked)

    assert [s.language for s in segments] == list(CANDIDATES), [(s.language, s.text) for s in segments]
    for segment, (_voice, locale, text) in zip(segments, MULTILINGUAL, strict=True):
        assert wer(text, segment.text) <= 0.35, (locale, segment.text)
        assert segment.words is None
    line = log.wait_for(r"language=en-US\+de-DE\+es-ES ")
    assert "lid=continuous" in line, line
    assert f"de-DE:{ENDPOINT_ID}" in line, line
    assert f"es-ES:{ENDPOINT_ID}" in line, line


@pytest.mark.parametrize("mode", ["masked", "removed", "raw"])
def test_profanity_modes(stack, audio, mode: str) -> None:
    log = SessionLog(stack)
    segments = recognise_file(audio.profane, options(profanity=mode))

    assert len(segments) == 1, segments
    text = segments[0].text
    heard = words(text).split()
    assert "printer" in heard, text
    assert "jammed" in heard, text
    if mode == "raw":
        assert set(PROFANE) <= set(heard), text
    elif mode == "removed":
        assert not set(PROFANE) & set(heard), text
        assert "*" not in text, text
    else:
        assert re.search(r"\bOh \*{4}, the \*{4} printer\b", text), text
    log.wait_for("options=-$" if mode == "masked" else f"options=profanity={mode}$")


def test_segmentation_silence_keeps_the_pauses_inside_one_segment(stack, three_sentences_wav) -> None:
    """The three sentences' pauses are ~1.2 s: a 2 s timeout gives one segment (the default gives three)."""
    log = SessionLog(stack)
    segments = recognise_file(three_sentences_wav, options(segmentation_silence_ms=2000))

    assert len(segments) == 1, [s.text for s in segments]
    assert wer(" ".join(speech_audio.THREE_SENTENCES), segments[0].text) <= 0.25, segments[0].text
    log.wait_for(r"options=.*silence=2000ms")


def test_a_phrase_list_and_a_custom_model(stack, audio) -> None:
    """The names come out right with the phrase list (0 of 10 without it, emulator README)."""
    log = SessionLog(stack)
    segments = recognise_file(audio.names, options(phrases=NAMES, phrase_weight=1.5, custom_endpoint_id=ENDPOINT_ID))

    text = " ".join(s.text for s in segments)
    assert all(name in text for name in NAMES), text
    assert wer(NAMES_SENTENCE, text) <= 0.1, text
    log.wait_for(rf"options=phrases=2@1\.5,cid={ENDPOINT_ID}$")


def test_diarization_off_is_one_speaker(stack, audio) -> None:
    """Two voices the transcriber tells apart; with ``diarization=false`` both are ``Speaker-1``."""
    diarized = recognise_file(audio.two_voices, None)
    single = recognise_file(audio.two_voices, options(diarization=False))

    assert len({s.speaker for s in diarized}) == 2, diarized
    assert [s.speaker for s in single] == ["Speaker-1"] * len(diarized), single
    assert [s.text for s in single] == [s.text for s in diarized]


def test_channel_names_label_the_channels(stack, call_recording) -> None:
    path, timeline = call_recording
    segments = recognise_file(path, options(channel_names=("Agent", "Customer")), channel_mode="separate")

    name_of = {speech_audio.VOICE_A: "Agent", speech_audio.VOICE_B: "Customer"}  # left, right
    heard = set()
    for segment in segments:
        middle = (segment.start + segment.end) / 2
        line = next(i for i, (_, start, end) in enumerate(timeline) if start - 0.3 <= middle <= end + 0.3)
        assert segment.speaker == name_of[timeline[line][0]], (segment, timeline[line])
        heard.add(line)
    assert heard == set(range(len(timeline))), (segments, timeline)

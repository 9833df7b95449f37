"""Per-recording recognition options, as the real Speech SDK 1.53 sends them, honoured by the emulator.

Each test configures the SDK the way a product would (``AutoDetectSourceLanguageConfig``,
``PhraseListGrammar``, ``request_word_level_timestamps``, ``set_profanity``,
``Speech_SegmentationSilenceTimeoutMs``, ``endpoint_id``) and checks what the SDK reports, against
what espeak-ng was told to say. The pause-splitting test reproduces a recording that used to come
back as one phrase (background noise louder than the speech threshold) and checks the fix.
"""

from __future__ import annotations

import json
import re
import wave
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import azure.cognitiveservices.speech as speechsdk
import numpy as np
import pytest

from speech_emulator.audio import PcmDecoder
from speech_emulator.process import start_emulator
from speech_emulator.vad import PauseSplitter
from tests import speech_audio
from tests.speech_audio import MULTILINGUAL, NAMES, NAMES_SENTENCE, PROFANE, PROFANE_SENTENCE, spoken
from tests.test_speech_emulator import (
    TICKS,
    UNFINISHED_TURN_SECONDS,
    speech_config,
    transcribe,
    wait_for_log,
    wer,
    words,
)

#: These start real processes of their own (the speech emulator, the stack): not for ``make test-unit``.
pytestmark = pytest.mark.stack

CANDIDATES = ["en-US", "de-DE", "es-ES"]


#: One sentence per language, each recognised right by Whisper base from espeak-ng (measured).
def with_noise(source: Path, out: Path, level_db: float) -> Path:
    """``source`` plus steady white noise at ``level_db`` dBFS (a hiss present from the first sample)."""
    with wave.open(str(source)) as w:
        rate, samples = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")
    noise = np.random.default_rng(7).normal(0.0, 32768 * 10 ** (level_db / 20), len(samples))
    mixed = np.clip(samples + noise, -32768, 32767).astype("<i2")
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(mixed.tobytes())
    return out


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    folder = tmp_path_factory.mktemp("options-audio")
    two_males = [("en-us", s) if i != 1 else ("en", s) for i, s in enumerate(speech_audio.THREE_SENTENCES)]
    return SimpleNamespace(
        multilingual=spoken(folder, "multilingual", [(v, t) for v, _locale, t in MULTILINGUAL]),
        german_first=spoken(folder, "german-first", [(v, t) for v, _locale, t in MULTILINGUAL[1:]]),
        german=speech_audio.speak(MULTILINGUAL[1][2], folder / "german.wav", voice="de", words_per_minute=140),
        names=speech_audio.speak(NAMES_SENTENCE, folder / "names.wav", words_per_minute=130),
        profane=speech_audio.speak(PROFANE_SENTENCE, folder / "profane.wav"),
        three=speech_audio.three_sentences(folder / "three.wav"),
        noisy=with_noise(spoken(folder, "two-males", two_males), folder / "two-males-noisy.wav", -45.0),
    )


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    log = tmp_path_factory.mktemp("options-emulator") / "emulator.log"
    with start_emulator(log_path=log) as (url, process):
        yield SimpleNamespace(url=url, process=process, log=log)


def candidates() -> speechsdk.languageconfig.AutoDetectSourceLanguageConfig:
    return speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=CANDIDATES)


def best(phrase_json: str) -> dict:
    return json.loads(phrase_json)["NBest"][0]


# --------------------------------------------------------------------------------------------
# language identification (multilingual Whisper base, loaded on first use)


def test_continuous_language_identification_per_phrase(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    config = speech_config(emulator.url)
    config.set_property(speechsdk.PropertyId.SpeechServiceConnection_LanguageIdMode, "Continuous")
    run = transcribe(config, audio.multilingual, languages=candidates(), wait=90)

    assert run.errors == []
    assert run.stopped_after is not None
    assert [p.language for p in run.phrases] == [locale for _v, locale, _t in MULTILINGUAL], run.phrases
    for phrase, (_voice, locale, text) in zip(run.phrases, MULTILINGUAL, strict=True):
        assert json.loads(phrase.json)["PrimaryLanguage"]["Language"] == locale
        assert wer(text, phrase.text) <= 0.35, (locale, phrase.text)
    wait_for_log(emulator.log, r"language=en-US\+de-DE\+es-ES .*options=lid=continuous")


def test_at_start_identification_keeps_the_first_language(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    """At-start mode (the SDK's default): the first phrase's language is the session's."""
    run = transcribe(speech_config(emulator.url), audio.german_first, languages=candidates(), wait=90)

    assert run.errors == []
    assert len(run.phrases) == 2
    assert [p.language for p in run.phrases] == ["de-DE", "de-DE"]  # not es-ES, not the first candidate
    assert wer(MULTILINGUAL[1][2], run.phrases[0].text) <= 0.35, run.phrases[0].text


def test_one_non_english_language(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    """``speech_recognition_language = "de-DE"``: German text, and no identification result."""
    config = speech_config(emulator.url)
    config.speech_recognition_language = "de-DE"
    run = transcribe(config, audio.german)

    assert run.errors == []
    assert len(run.phrases) == 1
    assert wer(MULTILINGUAL[1][2], run.phrases[0].text) <= 0.35, run.phrases[0].text
    assert "PrimaryLanguage" not in json.loads(run.phrases[0].json)
    wait_for_log(emulator.log, r"language=de-DE .*phrases=1 ")


# --------------------------------------------------------------------------------------------
# words, profanity, segmentation, phrase list, custom model


def test_word_timings_inside_their_phrase(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    config = speech_config(emulator.url)
    config.request_word_level_timestamps()
    run = transcribe(config, audio.three)

    assert run.errors == []
    assert len(run.phrases) == 3
    for phrase in run.phrases:
        nbest = best(phrase.json)
        found = nbest["Words"]
        start, end = round(phrase.offset * TICKS), round(phrase.end * TICKS)
        assert found, phrase
        assert " ".join(w["Word"] for w in found) == words(phrase.text) == nbest["Lexical"]
        cursor = start
        for word in found:
            assert word["Offset"] >= cursor, found
            assert word["Duration"] >= 0, found
            cursor = word["Offset"] + word["Duration"]
            assert 0.0 <= word["Confidence"] <= 1.0
        assert cursor <= end
        assert found[-1]["Offset"] > found[0]["Offset"]  # spread over the phrase, not piled at one tick
    assert wer(" ".join(speech_audio.THREE_SENTENCES), run.text) <= 0.25


@pytest.mark.parametrize("mode", ["default", "Masked", "Removed", "Raw"])
def test_profanity_modes(emulator: SimpleNamespace, audio: SimpleNamespace, mode: str) -> None:
    config = speech_config(emulator.url, detailed=True)
    if mode != "default":
        config.set_profanity(getattr(speechsdk.ProfanityOption, mode))
    run = transcribe(config, audio.profane)

    assert run.errors == []
    assert len(run.phrases) == 1
    text, nbest = run.phrases[0].text, best(run.phrases[0].json)
    spoken_words = words(text).split()
    assert "printer" in spoken_words
    assert "jammed" in spoken_words
    if mode == "Raw":
        assert set(PROFANE) <= set(spoken_words)
    elif mode == "Removed":
        assert not set(PROFANE) & set(spoken_words)
        assert "*" not in text
        assert len(spoken_words) == len(PROFANE_SENTENCE.split()) - len(PROFANE)
    else:  # the service's default is Masked
        assert not set(PROFANE) & set(spoken_words)
        assert re.search(r"\bOh \*{4}, the \*{4} printer\b", text), text
    for form in ("Display", "Lexical", "ITN", "MaskedITN"):
        assert not set(PROFANE) & set(words(nbest[form]).split()) or mode == "Raw", (form, nbest)


@pytest.mark.parametrize(("silence_ms", "phrases"), [(2000, 1), (800, 3)])
def test_segmentation_silence_timeout(
    emulator: SimpleNamespace, audio: SimpleNamespace, silence_ms: int, phrases: int
) -> None:
    """The three sentences' pauses are ~1.2 s: a longer timeout keeps them in one phrase."""
    config = speech_config(emulator.url)
    config.set_property(speechsdk.PropertyId.Speech_SegmentationSilenceTimeoutMs, str(silence_ms))
    run = transcribe(config, audio.three)

    assert run.errors == [], [p.text for p in run.phrases]
    assert len(run.phrases) == phrases, [p.text for p in run.phrases]
    assert wer(" ".join(speech_audio.THREE_SENTENCES), run.text) <= 0.25, run.text
    wait_for_log(emulator.log, rf"options=silence={silence_ms}ms")


def test_segmentation_out_of_range_is_a_bad_request(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    config = speech_config(emulator.url)
    config.set_property(speechsdk.PropertyId.Speech_SegmentationSilenceTimeoutMs, "50")
    run = transcribe(config, audio.profane)

    assert [code for code, _ in run.errors] == [speechsdk.CancellationErrorCode.BadRequest]
    assert "segmentationSilenceTimeoutMs" in run.errors[0][1]


def test_phrase_list_biases_recognition(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    def phrase_list(transcriber: speechsdk.transcription.ConversationTranscriber) -> speechsdk.PhraseListGrammar:
        grammar = speechsdk.PhraseListGrammar.from_recognizer(transcriber)
        for name in NAMES:
            grammar.addPhrase(name)
        grammar.setWeight(1.5)
        return grammar

    plain = transcribe(speech_config(emulator.url), audio.names)
    biased = transcribe(speech_config(emulator.url), audio.names, prepare=phrase_list)

    without, with_list = (sum(name in run.text for name in NAMES) for run in (plain, biased))
    print(f"\nphrase list: names right {without}/2 without, {with_list}/2 with: {plain.text!r} -> {biased.text!r}")
    assert with_list == 2
    assert with_list > without
    assert wer(NAMES_SENTENCE, biased.text) <= 0.1
    wait_for_log(emulator.log, r"options=phrases=2@1\.5")


def test_custom_model_id_is_accepted_and_logged(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    config = speech_config(emulator.url)
    config.endpoint_id = "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5"
    run = transcribe(config, audio.profane)

    assert run.errors == []
    assert len(run.phrases) == 1
    wait_for_log(emulator.log, r"options=.*cid=0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5")


# --------------------------------------------------------------------------------------------
# pauses are cut whatever the background


def test_pauses_are_cut_under_background_noise(emulator: SimpleNamespace, audio: SimpleNamespace) -> None:
    """Two male voices (one speaker label), hiss at -45 dBFS from the first sample: still three phrases.

    Before the fix the background estimate learned only from frames already judged quiet, so hiss
    above the -50 dBFS floor made every frame speech and the whole file came back as one phrase.
    """
    run = transcribe(speech_config(emulator.url), audio.noisy)

    assert run.errors == []
    assert run.stopped_after is not None
    assert run.stopped_after < UNFINISHED_TURN_SECONDS
    assert len(run.phrases) == 3, [p.text for p in run.phrases]
    for phrase, sentence in zip(run.phrases, speech_audio.THREE_SENTENCES, strict=True):
        assert wer(sentence, phrase.text) <= 0.35, phrase.text


@pytest.mark.parametrize("noise", [None, -45.0, -35.0])
def test_pause_splitter_follows_the_background(audio: SimpleNamespace, tmp_path: Path, noise: float | None) -> None:
    source = audio.three if noise is None else with_noise(audio.three, tmp_path / "noisy.wav", noise)
    samples = PcmDecoder().decode(source.read_bytes())
    splitter = PauseSplitter(16000)
    found = splitter.feed(samples) + splitter.flush()

    assert len(found) == 3
    quiet = PauseSplitter(16000, min_pause=2.0)  # longer than every pause: one phrase
    assert len(quiet.feed(samples) + quiet.flush()) == 1

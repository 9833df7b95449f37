"""Cue layout for segments with word times: cues hold whole words and take their times from them.

The service times its lexical form (``twenty three``) while a cue shows the display form (``23.``): the two
are lined up (``difflib``, over folded letters and digits), so every recognised word is timed into exactly
one cue, and a cue breaks only between display words or where two recognised words meet inside one
(``docs/transcript.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from shared.output.transcript import Segment, Word


@dataclass(frozen=True)
class WordCue:
    """A cue's lines, and its time (seconds) from its words: the earliest start and the latest end."""

    lines: tuple[str, ...]
    start: float
    end: float


@dataclass(frozen=True)
class _Piece:
    """What a line holds: a display word, or part of one where recognised words meet inside it."""

    text: str
    anchor: int  # the first recognised word heard in it
    glued: bool = False  # continues the piece before it without a space (the rest of a broken word)


@dataclass(frozen=True)
class _Token:
    """A display word and the pieces it may be broken into when it is longer than a line."""

    text: str
    pieces: tuple[_Piece, ...]


def word_cues(segment: Segment, *, first_width: int, line_width: int, cue_lines: int) -> list[WordCue] | None:
    """The cues of ``segment`` laid out over its words, or ``None`` without word times (the caller then shares
    the time out by characters); ``first_width`` is a cue's first line's width, ``line_width`` the others'."""
    words = segment.words
    if not words:
        return None
    lines = _lines(_tokens(segment.text, words), first_width, line_width, cue_lines)
    groups = [lines[i : i + cue_lines] for i in range(0, len(lines), cue_lines)]
    spans = _word_spans([piece.anchor for group in groups for line in group for piece in line], len(words))
    result, done = [], 0
    for group in groups:
        count = sum(len(line) for line in group)
        first, last = spans[done][0], spans[done + count - 1][1]
        done += count
        heard = words[first : last + 1]
        result.append(
            WordCue(tuple(_line_text(line) for line in group), min(w.start for w in heard), max(w.end for w in heard))
        )
    return result


def fit_cue_times(times: Sequence[int], low: int, high: int) -> list[int]:
    """Cue times ``start, end, start, end, ...`` (ms) moved as little as needed into ``[low, high]``: each cue
    at least 1 ms long and starting no earlier than the one before ends (zero-length only if the audio is
    shorter than 1 ms per cue)."""
    fitted = [min(max(t, low), high) for t in times]
    for k in range(1, len(fitted)):  # an end (odd k) is after its start; a start is not before the end before it
        fitted[k] = max(fitted[k], fitted[k - 1] + k % 2)
    if fitted:
        fitted[-1] = min(fitted[-1], high)
    for k in range(len(fitted) - 2, -1, -1):
        fitted[k] = min(fitted[k], fitted[k + 1] - (k + 1) % 2)
    return [max(t, low) for t in fitted]


# -- lining up display text with recognised words --------------------------------------------------
def _tokens(text: str, words: Sequence[Word]) -> list[_Token]:
    """The display words of ``text``, each cut into pieces where different recognised words meet."""
    owners = _owners(text, words)
    cut = [_cut(text, start, end, owners) for start, end in _word_bounds(text)]
    anchors = iter(_resolved_anchors([anchor for pieces in cut for _, anchor in pieces]))
    tokens = []
    for pieces in cut:
        made = tuple(_Piece(piece, next(anchors), glued=i > 0) for i, (piece, _) in enumerate(pieces))
        tokens.append(_Token("".join(p.text for p in made), made))
    return tokens


def _cut(text: str, start: int, end: int, owners: Sequence[int | None]) -> list[tuple[str, int | None]]:
    """``text[start:end]`` (one display word) as ``(piece, anchor)``: a new piece where a later word was
    heard; a character heard in none (punctuation) stays with the piece before it."""
    pieces: list[tuple[str, int | None]] = []
    for position in range(start, end):
        char, owner = text[position], owners[position]
        if not pieces:
            pieces.append((char, owner))
            continue
        piece, anchor = pieces[-1]
        if owner is not None and anchor is not None and owner > anchor:
            pieces.append((char, owner))
        else:
            pieces[-1] = (piece + char, owner if anchor is None else anchor)
    return pieces


def _owners(text: str, words: Sequence[Word]) -> list[int | None]:
    """For each character of ``text``, the recognised word it was heard in (``None``: not a letter or digit).
    Words first (most of a segment costs one comparison a word); characters only where they differ."""
    shown = [(start, end, _folded(text[start:end])) for start, end in _word_bounds(text)]
    shown = [token for token in shown if token[2]]
    heard = [(index, _folded(word.text)) for index, word in enumerate(words)]
    heard = [word for word in heard if word[1]]
    owners: list[int | None] = [None] * len(text)
    if not shown or not heard:  # nothing to line up (no letter or digit on one side): words shared out in order
        bounds = _word_bounds(text)
        for i, (start, end) in enumerate(bounds):
            owners[start:end] = [i * len(words) // len(bounds)] * (end - start)
        return owners
    for tag, a1, a2, b1, b2 in _opcodes([token[2] for token in shown], [word[1] for word in heard]):
        if tag == "equal":
            for (start, end, _), (index, _) in zip(shown[a1:a2], heard[b1:b2], strict=True):
                _own(text, start, end, index, owners)
        elif tag == "replace":
            _line_up_characters(text, shown[a1:a2], heard[b1:b2], owners)
        elif tag == "delete":
            for start, end, _ in shown[a1:a2]:
                _own(text, start, end, heard[max(b1 - 1, 0)][0], owners)
    return owners


def _line_up_characters(
    text: str, shown: Sequence[tuple[int, int, str]], heard: Sequence[tuple[int, str]], owners: list[int | None]
) -> None:
    """Owners for display words written differently from the words heard: by character, a run that
    differs spread evenly over the run it replaced, a character with nothing heard taking the one before."""
    positions = [p for start, end, _ in shown for p in range(start, end) for _ in _folded(text[p])]
    owner = [index for index, folded in heard for _ in folded]
    shown_chars = "".join(folded for _, _, folded in shown)
    for tag, a1, a2, b1, b2 in _opcodes(shown_chars, "".join(folded for _, folded in heard)):
        for k in range(a1, a2):
            if tag == "equal":
                j = b1 + k - a1
            elif tag == "replace":
                j = b1 + (k - a1) * (b2 - b1 - 1) // max(a2 - a1 - 1, 1)
            else:  # "delete": shown, not heard
                j = max(b1 - 1, 0)
            owners[positions[k]] = owner[j]


#: Above this many pairs to compare, two runs are lined up evenly instead (``SequenceMatcher`` is
#: quadratic on repetitive text: "ha ha ha ..."); subtitle times then stay near, not exact.
_MAX_PAIRS = 250_000


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    if a == b:
        return [("equal", 0, len(a), 0, len(b))]
    if len(a) * len(b) > _MAX_PAIRS:
        return [("replace", 0, len(a), 0, len(b))]
    return SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def _own(text: str, start: int, end: int, index: int, owners: list[int | None]) -> None:
    for position in range(start, end):
        if text[position].isalnum():
            owners[position] = index


def _folded(text: str) -> str:
    """What the alignment compares: letters and digits, case folded (display and lexical forms agree on them)."""
    return "".join(char.casefold() for char in text if char.isalnum())


def _word_bounds(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each whitespace-separated word: the same words as ``str.split()``."""
    bounds, start = [], None
    for position, char in enumerate(text):
        if char.isspace():
            if start is not None:
                bounds.append((start, position))
            start = None
        elif start is None:
            start = position
    if start is not None:
        bounds.append((start, len(text)))
    return bounds


def _resolved_anchors(anchors: list[int | None]) -> list[int]:
    """Anchors for every piece: one with no letter or digit (``—``) takes its neighbour's; never decreasing."""
    known = [a for a in anchors if a is not None]
    previous = known[0] if known else 0
    resolved = []
    for anchor in anchors:
        previous = previous if anchor is None else max(anchor, previous)
        resolved.append(previous)
    return resolved


def _word_spans(anchors: Sequence[int], word_count: int) -> list[tuple[int, int]]:
    """The recognised words ``(first, last)`` of each piece: from its anchor to the word before the next
    piece's, so together every word once (two pieces heard as one word both get it)."""
    spans = []
    for i, anchor in enumerate(anchors):
        first = 0 if i == 0 else anchor
        last = word_count - 1 if i == len(anchors) - 1 else max(anchor, anchors[i + 1] - 1)
        spans.append((first, last))
    return spans


# -- lines -------------------------------------------------------------------------------------------
class _Filler:
    """Greedy line filling; lines alternate first-of-cue (``first_width``) and the others (``line_width``)."""

    def __init__(self, first_width: int, line_width: int, cue_lines: int) -> None:
        self.first_width, self.line_width, self.cue_lines = first_width, line_width, cue_lines
        self.lines: list[list[_Piece]] = []
        self.current: list[_Piece] = []
        self.used = 0

    def width(self, ahead: int = 0) -> int:
        return self.first_width if (len(self.lines) + ahead) % self.cue_lines == 0 else self.line_width

    def fresh_width(self) -> int:
        """The width of the line a word goes to when it does not fit on this one."""
        return self.width(ahead=1 if self.current else 0)

    def add(self, piece: _Piece) -> None:
        """``piece`` on this line if it fits, else on the next; alone on a line it goes even if too long."""
        gap = 0 if piece.glued or not self.current else 1
        if self.current and self.used + gap + len(piece.text) > self.width():
            self.newline()
            gap = 0
        self.current.append(piece)
        self.used += gap + len(piece.text)

    def newline(self) -> None:
        if self.current:
            self.lines.append(self.current)
        self.current, self.used = [], 0


def _lines(tokens: Sequence[_Token], first_width: int, line_width: int, cue_lines: int) -> list[list[_Piece]]:
    """Display words in lines; one longer than a fresh line flows on in pieces, broken between recognised words."""
    filler = _Filler(first_width, line_width, cue_lines)
    for token in tokens:
        if len(token.pieces) == 1 or len(token.text) <= filler.fresh_width():
            filler.add(_Piece(token.text, token.pieces[0].anchor))
        else:
            for piece in token.pieces:
                filler.add(piece)
    filler.newline()
    return filler.lines


def _line_text(line: Sequence[_Piece]) -> str:
    return "".join(piece.text if i == 0 or piece.glued else f" {piece.text}" for i, piece in enumerate(line))

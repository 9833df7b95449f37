"""The burst: how many recordings, how long each is, when each is uploaded.

The length of a recording is what a Speech session costs, so the mix decides every figure. It is an
ASSUMPTION, chosen to look like what a speech-to-text pipeline is fed when a team or an archive
uploads at once, and stated so it can be argued with:

- voice memos (45 %): lognormal, median 45 s, never over 2 min; many, but cheap;
- phone calls (35 %): lognormal, median 6 min, 3 to 15 min;
- meetings (18 %): uniform 30 to 90 min (the half-hour and hour meetings of a calendar, overrunning);
- long recordings (2 %): lectures, hearings, all-day sessions, uniform 90 min up to the product's cap,
  ``MAX_AUDIO_MINUTES`` (240 min).

Mean 16.5 min (10,000 drawn with the default seed: 2,743 audio hours); 83 % of the audio is in the
meetings and long recordings, so a burst's time is set by them, not by how many memos it has.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from bench.capacity.assumptions import MINUTE


@dataclass(frozen=True)
class Kind:
    """One kind of recording: its share of the burst and how its length is drawn (seconds)."""

    name: str
    share: float
    low: float
    high: float
    #: lognormal median and sigma; None: uniform between ``low`` and ``high``
    median: float | None = None
    sigma: float = 0.0

    def draw(self, rng: random.Random, cap: float) -> float:
        high = min(self.high, cap)
        if self.median is None:
            return rng.uniform(min(self.low, high), high)
        return min(high, max(self.low, rng.lognormvariate(math.log(self.median), self.sigma)))


MIX: tuple[Kind, ...] = (
    Kind("voice memo", 0.45, low=5.0, high=2 * MINUTE, median=45.0, sigma=0.7),
    Kind("call", 0.35, low=3 * MINUTE, high=15 * MINUTE, median=6 * MINUTE, sigma=0.5),
    Kind("meeting", 0.18, low=30 * MINUTE, high=90 * MINUTE),
    Kind("long recording", 0.02, low=90 * MINUTE, high=math.inf),  # up to the cap, MAX_AUDIO_MINUTES
)


@dataclass(frozen=True)
class Upload:
    at: float
    seconds: float
    kind: str


def burst(count: int, window_s: float, cap_s: float, rng: random.Random) -> list[Upload]:
    """``count`` recordings uploaded uniformly over ``window_s`` (a bulk import), in upload order."""
    weights = [kind.share for kind in MIX]
    uploads = []
    for _ in range(count):
        kind = rng.choices(MIX, weights)[0]
        uploads.append(Upload(rng.uniform(0.0, window_s), kind.draw(rng, cap_s), kind.name))
    uploads.sort(key=lambda upload: upload.at)
    return uploads

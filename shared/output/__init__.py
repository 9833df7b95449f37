"""The transcript and what it is written as: the ``Transcript`` model, its formats (JSON, text, SubRip,
WebVTT) and the subtitle cues that wrap its words. Pure code: no Azure, no I/O."""

#: Every output format's name, in ``formats.FORMATS``' order: here, so settings read them without the renderers.
FORMAT_NAMES = ("json", "txt", "srt", "vtt")

"""Recognition options: what each recording may ask of its transcription (the spoken language, a phrase list, word
timings, ...), declared once in ``declared.py``, read by every door through ``parse.py``, checked before any
token is fetched. The defaults come from app settings; see the README's options table.
"""

from shared.options.declared import (
    MAX_SEPARATE_CHANNELS,
    OPTION_NAMES,
    OPTION_SETTINGS,
    OPTIONS,
    Option,
    RecognitionOptions,
    as_written,
)
from shared.options.parse import from_settings, parse_document, parse_text, refuse_unknown, validated

__all__ = [
    "MAX_SEPARATE_CHANNELS",
    "OPTIONS",
    "OPTION_NAMES",
    "OPTION_SETTINGS",
    "Option",
    "RecognitionOptions",
    "as_written",
    "from_settings",
    "parse_document",
    "parse_text",
    "refuse_unknown",
    "validated",
]

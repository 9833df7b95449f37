"""The recognition options an HTTP request asks for: from its query string, or a job's JSON ``options``. A
query parameter this API does not know (``language=`` for ``languages=``) is refused, not ignored.
"""

from __future__ import annotations

import azure.functions as func

from shared.options import OPTION_NAMES, RecognitionOptions, parse_document, parse_text, refuse_unknown
from shared.settings import Settings

_OTHER_PARAMETERS = ("format", "code")  # ``code``: the function key, when sent in the URL


def query_options(req: func.HttpRequest, settings: Settings) -> RecognitionOptions:
    """The app's default options, overridden by the request's query; ``InvalidOptionsError`` (400)."""
    given = {name.lower(): value for name, value in req.params.items()}
    refuse_unknown(given, also=_OTHER_PARAMETERS)
    # The host has percent-decoded the query already: decoded again, "50%25" would be "50%".
    return parse_text(
        {name: value for name, value in given.items() if name in OPTION_NAMES},
        settings.recognition,
        channel_mode=settings.channel_mode,
    )


def document_options(document: object, settings: Settings) -> RecognitionOptions:
    """The app's default options, overridden by a JSON ``options`` object; ``InvalidOptionsError`` (400)."""
    return parse_document(document, settings.recognition, channel_mode=settings.channel_mode)

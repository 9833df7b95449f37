"""Which output format a request asks for: ``?format=`` first, then ``Accept`` with its q-values.

Each format gets the quality of the most specific range matching it (RFC 9110 §12.5.1; ``q=0`` rules it out);
ties go to the more specific range, then the client's order, then the registry's (JSON first).
"""

from __future__ import annotations

import azure.functions as func

from shared.errors import InvalidRequestError, NotAcceptableError
from shared.output.formats import FORMATS, OutputFormat, output_format


def format_parameter(req: func.HttpRequest, default: str = "json") -> OutputFormat:
    """The format named by ``?format=`` (``default`` without one); ``InvalidRequestError`` for an unknown one."""
    name = req.params.get("format")
    if not name:
        return FORMATS[default]
    try:
        return output_format(name)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None


def requested_format(req: func.HttpRequest) -> OutputFormat:
    """``?format=`` if given, else the best format the ``Accept`` header allows (JSON when none is sent)."""
    if req.params.get("format"):
        return format_parameter(req)
    accept = req.headers.get("accept", "")
    if not accept.strip():
        return FORMATS["json"]
    ranges = _media_ranges(accept)
    ranked = []
    for order, fmt in enumerate(FORMATS.values()):
        match = _best_match(fmt.content_type, ranges)
        if match is not None and match[0] > 0:
            quality, specificity, position = match
            ranked.append(((quality, specificity, -position, -order), fmt))
    if not ranked:
        raise NotAcceptableError(
            f"Accept names no format this service writes: use one of "
            f"{', '.join(fmt.content_type for fmt in FORMATS.values())}"
        )
    return max(ranked, key=lambda item: item[0])[1]


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    """``(media range, q)`` for each element of the header, in the client's order."""
    ranges = []
    for part in accept.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0  # a q we cannot read is not a yes
        ranges.append((media.lower(), quality))
    return ranges


def _best_match(content_type: str, ranges: list[tuple[str, float]]) -> tuple[float, int, int] | None:
    """``(q, specificity, position)`` of the most specific range matching ``content_type``, if any."""
    kind = content_type.split("/")[0]
    best = None
    for position, (media, quality) in enumerate(ranges):
        specificity = 2 if media == content_type else 1 if media == f"{kind}/*" else 0 if media == "*/*" else -1
        if specificity >= 0 and (best is None or specificity > best[1]):
            best = (quality, specificity, position)
    return best

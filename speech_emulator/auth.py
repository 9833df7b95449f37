"""Who may open a session: the credentials the SDK puts on its websocket upgrade request.

By default the emulator is open, like a developer's local service: a Bearer token, a
subscription key or nothing at all are accepted. With ``--require-token`` it checks what the
product must send in Azure, a Microsoft Entra token for Cognitive Services; locally such tokens
are minted by the project's managed-identity endpoint, so the contract is that endpoint's:

- ``Authorization: Bearer <jwt>`` (the SDK may send ``Bearer aad#<resourceId>#<jwt>``),
- the JWT is signed HS256 with the secret in the ``LOCAL_IDENTITY_SECRET`` environment variable,
- its ``aud`` is ``https://cognitiveservices.azure.com`` (with or without a trailing slash),
- its ``exp`` has not passed.

A subscription key is refused in that mode: the project exists to run without long-lived keys,
and a test that passes with a key would prove nothing about the keyless path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

SECRET_ENV = "LOCAL_IDENTITY_SECRET"
AUDIENCE = "https://cognitiveservices.azure.com"
ACCEPTED_AUDIENCES = (AUDIENCE, AUDIENCE + "/")


class AuthError(Exception):
    """The request is refused with HTTP 401; the message says why (in the response body)."""


@dataclass(frozen=True)
class AuthPolicy:
    """What this emulator process demands; built once from the command line."""

    require_token: bool = False
    secret: str | None = None

    def __post_init__(self) -> None:
        if self.require_token and not self.secret:
            raise ValueError(f"--require-token needs the signing secret in ${SECRET_ENV}")


def bearer_token(authorization: str | None) -> str | None:
    """The token in an ``Authorization`` header value, without ``Bearer`` and ``aad#...#``."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    token = token.strip()
    if token.startswith("aad#"):
        parts = token.split("#", 2)
        token = parts[2] if len(parts) == 3 else ""
    return token or None


def verify_token(token: str, secret: str) -> dict[str, Any]:
    """Claims of a valid local managed-identity token; AuthError says what is wrong otherwise."""
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=list(ACCEPTED_AUDIENCES),
            options={"require": ["exp", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthError(f"token audience is not {AUDIENCE}") from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthError("token signature does not verify") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from exc


def authorize(headers: Mapping[str, str], policy: AuthPolicy) -> None:
    """Raise AuthError unless the upgrade request's headers satisfy ``policy``."""
    if not policy.require_token:
        return
    token = bearer_token(headers.get("Authorization"))
    if token is None:
        if headers.get("Ocp-Apim-Subscription-Key"):
            raise AuthError("subscription keys are refused: send a Bearer token")
        raise AuthError("missing Authorization: Bearer token")
    assert policy.secret is not None  # checked in AuthPolicy.__post_init__
    verify_token(token, policy.secret)

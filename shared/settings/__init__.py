"""App settings: their names (``names``), how each is read and checked (``values``), and the one immutable
``Settings`` object an invocation reads them into (``model``). Import from here.

The names load with the package, the model only when first asked for: ``function_app`` imports a setting's
name at indexing, where every millisecond is a cold start's (docs/performance.md, section 4).
"""

from shared.settings.names import *  # noqa: F403 - every setting name is this package's interface
from shared.settings.names import APP_SETTING_NAMES, REQUIRED_SETTINGS, identity_connection

_MODEL_NAMES = ("CHANNEL_MODES", "TOKEN_CREDENTIALS", "UPLOAD_URL_MINUTES", "Settings", "StorageSettings")

__all__ = ["APP_SETTING_NAMES", "REQUIRED_SETTINGS", "identity_connection", *_MODEL_NAMES]


def __getattr__(name: str) -> object:
    if name in _MODEL_NAMES:
        from shared.settings import model

        return getattr(model, name)
    raise AttributeError(f"module 'shared.settings' has no attribute {name!r}")

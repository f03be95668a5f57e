"""``json.dumps(obj)`` with its default arguments, without building an encoder per call.

Every ``json.dumps`` call with default arguments makes a new C encoder, which costs more
than encoding a small response. ``dumps`` keeps one and gives the same text and the same
errors. The encoder's circular-reference markers are emptied after a failed call (the C
encoder leaves them behind when it raises), and a call that finds the encoder busy, in
another thread or from inside an object's own serialisation, uses ``json.dumps`` itself.
"""

import json
import threading
from typing import Any, Final

__all__ = ("STD_DUMPS", "dumps")

#: ``json.dumps`` as imported; a default ``dumps=`` argument is this object.
STD_DUMPS: Final = json.dumps

_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_busy = threading.Lock()
_markers: dict[int, Any] = {}
_encode: Any = None
if _c_make_encoder is not None:
    _defaults = json.JSONEncoder()
    _encode = _c_make_encoder(
        _markers,
        _defaults.default,
        json.encoder.encode_basestring_ascii,
        None,  # indent
        _defaults.key_separator,
        _defaults.item_separator,
        _defaults.sort_keys,
        _defaults.skipkeys,
        _defaults.allow_nan,
    )


def dumps(obj: Any) -> str:
    """What ``json.dumps(obj)`` returns (or raises)."""
    if _encode is None or not _busy.acquire(False):
        return STD_DUMPS(obj)
    try:
        return "".join(_encode(obj, 0))
    except BaseException:
        _markers.clear()
        raise
    finally:
        _busy.release()

"""JSON rendering with orjson: several times faster than the standard library on list pages."""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_fallback = JSONEncoder()


def _default(value):
    # Lazy translation strings, Decimals, phone numbers, countries...: as DRF would render them.
    return _fallback.default(value)


class ORJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)

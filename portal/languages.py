"""The languages the portal is complete in, and how a family's language is chosen."""

from __future__ import annotations

from django.conf import settings

# Every portal string is translated into these; other project languages fall back to English.
PORTAL_LANGUAGE_CODES = ("en", "zh-hans", "ar", "ru")


def portal_languages() -> list[tuple[str, str]]:
    names = dict(settings.LANGUAGES)
    return [(code, names.get(code, code)) for code in PORTAL_LANGUAGE_CODES]


def portal_language(code: str | None) -> str:
    """The portal language for a profile language (``zh-Hans``/``zh-cn`` → ``zh-hans``, unknown → English)."""
    code = (code or "").lower().replace("_", "-")
    if code in PORTAL_LANGUAGE_CODES:
        return code
    if code.startswith("zh"):
        return "zh-hans"
    base = code.split("-")[0]
    return base if base in PORTAL_LANGUAGE_CODES else "en"

"""An answer for credentials a route does not take.

A centre's integrator who sends its API key (``Authorization: Bearer nvk_…``) to a route that
only coordinators and families use was told 403 ("you may not"), which reads as a key that
works but lacks a permission. This first authenticator accepts nobody; it only makes DRF
answer such a request 401 with ``WWW-Authenticate: Bearer``: the key is not accepted here.
Requests without a bearer header keep DRF's usual answers.
"""

from __future__ import annotations

from rest_framework import authentication


class BearerChallenge(authentication.BaseAuthentication):
    def authenticate(self, request):
        return None

    def authenticate_header(self, request):
        header = authentication.get_authorization_header(request).split()
        if header and header[0].lower() == b"bearer":
            return 'Bearer realm="navigator", error="invalid_token", error_description="not accepted on this route"'
        return None

"""Sign-in protection for every login form (portal and admin).

django-axes counts failed sign-ins per user name and client address and locks the pair
out. Its backend needs the HTTP request; calls to ``authenticate()`` without one (the
test client's ``login()``, management commands) are not sign-in attempts over the
network, so they skip the lock-out check and go straight to the next backend.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class RequestAxesBackend(AxesStandaloneBackend):
    """Axes' lock-out check, applied to every authentication that comes with a request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

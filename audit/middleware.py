from .context import client_ip, ip_from_request


class AuditContextMiddleware:
    """Remembers the client address of the current request for audit entries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = client_ip.set(ip_from_request(request))
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(token)

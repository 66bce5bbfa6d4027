import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navigator.settings")
application = get_wsgi_application()

from navigator import observability  # noqa: E402 - needs the settings loaded above

observability.init()

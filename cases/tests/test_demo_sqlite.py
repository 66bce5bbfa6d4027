"""`make run` serves the demo from a SQLite file: the steps of bin/run-demo work there too.

The suite itself runs on PostgreSQL, so a query only PostgreSQL understands (DISTINCT ON,
for instance) would pass every other test and still break the demo. This runs the demo's
steps in a separate process on a fresh SQLite file, then opens every admin list, the first
page of each, and the portal and API entry points as the demo users.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CRAWL = r"""
import re
from django.test import Client

failures = []

def get(client, url, expect=200):
    response = client.get(url, follow=True)
    if response.status_code != expect:
        failures.append(f"{url}: {response.status_code}")
    return response

coordinator = Client(HTTP_HOST="127.0.0.1")
assert coordinator.login(username="alice", password="navigator-demo-2026")
index = get(coordinator, "/admin/").content.decode()
lists = sorted(set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', index)))
assert len(lists) > 20, lists
for url in lists:
    page = get(coordinator, url).content.decode()
    first = re.search(r'href="(' + re.escape(url) + r'[^"/?]+/change/)', page)
    if first:
        get(coordinator, first.group(1))
        get(coordinator, first.group(1).replace("/change/", "/history/"))
for url in ("/admin/cases/case/?due=overdue", "/admin/cases/case/?caseload=mine", "/admin/cases/case/?q=Ivanov",
            "/api/v1/cases/", "/api/schema/", "/healthz"):
    get(coordinator, url)
# The case search takes its plain path on SQLite (no pg_trgm) and still finds by name and reference.
found = get(coordinator, "/api/v1/cases/?q=ivanov").json()["results"]
if not found:
    failures.append("search ?q=ivanov found nothing")
elif get(coordinator, "/api/v1/cases/?q=" + found[0]["reference"].lower()).json()["results"] != found[:1]:
    failures.append("search by reference did not find the case")

family = Client(HTTP_HOST="127.0.0.1")
assert family.login(username="family.ivanov", password="navigator-demo-2026")
for url in ("/portal/", "/api/v1/cases/"):
    get(family, url)

hospital = Client(HTTP_HOST="127.0.0.1")
assert hospital.login(username="dr.li", password="navigator-demo-2026")
get(hospital, "/api/v1/referrals/")

print("pages-ok" if not failures else "FAILED " + "; ".join(failures))
"""


def test_the_demo_migrates_seeds_and_serves_every_admin_page_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        # Nothing of this run may land in the working tree or a developer's demo queue.
        "CELERY_BROKER_URL": "memory://",
        "REDIS_URL": "",
        "NAVIGATOR_MEDIA_ROOT": str(tmp_path / "media"),
        "DOCUMENT_UPLOAD_DIR": str(tmp_path / "uploads"),
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "SMS_FILE_PATH": str(tmp_path / "sms"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SECRET_KEY", None)

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}"
        return result.stdout

    manage("migrate", "--noinput", "-v0")
    out = manage("seed_demo")
    assert "alice" in out and "family.ivanov" in out and "dr.li" in out
    out = manage("shell", "-c", CRAWL)
    assert "pages-ok" in out, out[-4000:]

"""The locks match the pins: what CI, `make` and the image install is what requirements*.txt name.

requirements.txt (the image) and requirements-dev.txt (tests and tools) pin direct dependencies;
requirements.lock and requirements-dev.lock (`make lock`) add every transitive one, each with its
hashes, and are what `make install` and the Dockerfile install with ``--require-hashes``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def pins(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
            continue
        match = PIN.match(line)
        if match:
            found[_name(match.group(1))] = match.group(2)
    return found


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for every requirement in a pip-compile lock."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = _name(match.group(1))
            entries[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
    return entries


@pytest.mark.parametrize(
    ("pinned", "lock"), [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")]
)
def test_the_lock_holds_every_pin_at_its_version_with_hashes(pinned, lock):
    wanted = pins(ROOT / pinned)
    have = locked(ROOT / lock)
    stale = {
        name: (version, have.get(name, ("missing", 0))[0])
        for name, version in wanted.items()
        if have.get(name, ("", 0))[0] != version
    }
    assert not stale, f"{lock} is out of date with {pinned} (pinned, locked): {stale}; run `make lock`"
    unhashed = [name for name, (_, hashes) in have.items() if hashes == 0]
    assert not unhashed, f"{lock} has packages without hashes: {unhashed}"


def test_the_image_installs_from_the_lock_with_hashes():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements.lock" in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.lock" in makefile


def test_unused_packages_are_not_pinned():
    # File types are sniffed from their first bytes by documents.validation.sniff; no library needed.
    assert "filetype" not in pins(ROOT / "requirements-dev.txt")

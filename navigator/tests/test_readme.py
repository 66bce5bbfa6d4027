"""README's "Configuration" table names every environment variable the code reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# os.environ["X"], os.environ.get("X"), os.getenv("X"), env("X"), env.int("X"), envsecret("X")
READS = re.compile(r'(?:os\.environ(?:\.get)?[\[(]|getenv\(|\benv(?:\.\w+)?\(|envsecret\()\s*"([A-Z][A-Z0-9_]+)"')
SKIP = {".venv", "var", "tests", "bench", "migrations", "node_modules"}


def variables_read_by_the_code() -> dict[str, str]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & SKIP or path.name == "conftest.py":
            continue
        for name in READS.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def configuration_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Configuration")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def test_every_environment_variable_is_documented_in_the_readme():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", configuration_section()))
    found = variables_read_by_the_code()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ADMIN_REQUIRE_2FA"} <= set(found)
    missing = sorted(f"{name} (read in {where})" for name, where in found.items() if name not in documented)
    assert not missing, "Add to README.md, Configuration: " + ", ".join(missing)

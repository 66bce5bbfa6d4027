"""Streaming a large packet ZIP: peak memory and throughput against reading the same files.

A packet of large documents (imaging studies reach gigabytes) is streamed through the same
``build_zip`` the API uses (manifest, SHA256SUMS, packet.json, FHIR Bundle, bilingual PDF,
then every document read in 1 MiB chunks). The baseline, measured in the same run, reads
the same files from disk in the same chunk size and does nothing else.

    .venv/bin/python bench/bench_packet_zip.py            # 2 GB packet
    .venv/bin/python bench/bench_packet_zip.py --quick    # 200 MB
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:
    from bench import common
except ModuleNotFoundError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import common  # type: ignore[no-redef]

CHUNK = 1024 * 1024


def _setup_django() -> None:
    # Rendering needs settings only (no database): the PDF font and FHIR code are pure.
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navigator.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
    django.setup()


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS (Linux >= 4.0).
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _make_files(directory: Path, total: int, count: int) -> list[tuple[Path, int, str]]:
    files = []
    size = total // count
    for i in range(count):
        path = directory / f"study-{i}.dcm"
        digest = hashlib.sha256()
        with open(path, "wb") as fh:
            left = size
            while left:
                block = os.urandom(min(CHUNK, left))
                digest.update(block)
                fh.write(block)
                left -= len(block)
        files.append((path, size, digest.hexdigest()))
    return files


def _snapshot(files) -> dict:
    today = dt.date.today().isoformat()
    return {
        "schema": "navigator.case-packet/1",
        "case": {"reference": "NAV-2026-99999", "indication": {"code": "b-all-cd19-car-t", "name": "B-ALL"}, "inquiry_date": today},
        "centre": {"code": "pkuph", "name_en": "Peking University People's Hospital", "name_zh": "北京大学人民医院"},
        "patient": {
            "given_name": "Test", "family_name": "Patient", "native_name": "测试", "date_of_birth": "2015-01-01",
            "age_years": 11, "sex": "female", "country_of_residence": "KZ", "preferred_language": "ru",
        },
        "cover_note": "",
        "clinical": {},
        "summary": {"cd19_status": "positive", "cns_status": "cns1", "ph_status": "negative"},
        "eligibility": None,
        "documents": [
            {
                "id": i + 1, "doc_type": "imaging_study", "doc_type_label": "Imaging study (DICOM)", "title": p.name,
                "original_name": p.name, "clinical_date": today, "language": "", "content_type": "application/dicom",
                "size": size, "sha256": sha, "review_status": "accepted", "translations": [],
            }
            for i, (p, size, sha) in enumerate(files)
        ],
        "packet": {"version": 1, "assembled_at": dt.datetime.now(dt.UTC).isoformat(), "assembled_by": "bench", "content_hash": "0" * 64},
    }  # fmt: skip


def _read_plain(files) -> int:
    total = 0
    for path, _size, _sha in files:
        with open(path, "rb") as fh:
            while block := fh.read(CHUNK):
                total += len(block)
    return total


def _stream_zip(files, snapshot) -> int:
    from hospitals.packets.bundle_zip import build_zip
    from hospitals.packets.fhir import build_bundle
    from hospitals.packets.pdf import render_pdf

    openers = {i + 1: (lambda p=p: open(p, "rb")) for i, (p, _s, _h) in enumerate(files)}  # noqa: SIM115
    stream = build_zip(snapshot=snapshot, fhir_bundle=build_bundle(snapshot), pdf=render_pdf(snapshot), openers=openers)
    announced = len(stream)
    total = sum(len(chunk) for chunk in stream)
    assert total == announced, (total, announced)
    return total


def _measure(fn) -> tuple[float, float, int]:
    """(seconds, peak RSS above the starting RSS in MB, bytes)."""
    _reset_peak()
    start_rss = _rss_mb()
    start = time.perf_counter()
    nbytes = fn()
    seconds = time.perf_counter() - start
    return seconds, max(0.0, _peak_mb() - start_rss), nbytes


def run(quick: bool = False, size_mb: int | None = None) -> list[dict]:
    _setup_django()
    total = (size_mb or (200 if quick else 2048)) * 1024 * 1024
    count = 4 if quick else 8
    rounds = 3 if not quick and total > 1024**3 else common.ROUNDS
    with tempfile.TemporaryDirectory(prefix="bench-packet-zip-") as tmp:
        files = _make_files(Path(tmp), total, count)
        # The memory baseline: the same packet with one file an eighth of the size, streamed the
        # same way. Streaming holds a chunk at a time, so the peak should not grow with the size.
        small_dir = Path(tmp) / "small"
        small_dir.mkdir()
        small_files = _make_files(small_dir, total // 8 // count, 1)
        snapshot, small_snapshot = _snapshot(files), _snapshot(small_files)
        _read_plain(files)  # warm the page cache for both sides alike
        _stream_zip(files, snapshot)  # and the font and imports
        speeds, reads, peaks, small_peaks = [], [], [], []
        for _ in range(rounds):
            base_s, _peak, base_bytes = _measure(lambda: _read_plain(files))
            small_s, small_peak, _bytes = _measure(lambda: _stream_zip(small_files, small_snapshot))
            zip_s, zip_peak, zip_bytes = _measure(lambda: _stream_zip(files, snapshot))
            reads.append(base_bytes / base_s)
            speeds.append(zip_bytes / zip_s)
            peaks.append(zip_peak)
            small_peaks.append(small_peak)
    mb = 1024 * 1024
    label = f"{total // mb} MB in {count} files"
    ratios = [v / b for v, b in zip(speeds, reads, strict=True)]
    return [
        common.row(
            "packet_zip.throughput",
            statistics.median(speeds) / mb,
            statistics.median(reads) / mb,
            "MB/s",
            f"{label}; baseline: reading the files; {rounds} rounds",
            higher_is_better=True,
            ratio=statistics.median(ratios),
            spread=(min(ratios), max(ratios)),
        ),
        common.row(
            "packet_zip.peak_memory_over_start",
            max(peaks),
            max(max(small_peaks), 1 / 1024),
            "MB",
            f"{label}; peak RSS growth while streaming; baseline: the same packet of {total // 8 // mb} MB",
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size-mb", type=int, default=None)
    args = parser.parse_args()
    common.print_table(run(quick=args.quick, size_mb=args.size_mb))

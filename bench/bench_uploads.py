"""Uploading a large file through a real server: the resumable (tus) path and multipart.

Throughput is reported as a ratio to a plain file copy on the same disk, alternating over
five rounds; server memory as the peak resident size of the worker during the upload over
its idle size, against the same upload of 1 MB (the aim: under 64 MB more than idle,
whatever the file size).

    .venv/bin/python bench/bench_uploads.py                 # 256 MB
    .venv/bin/python bench/bench_uploads.py --quick         # 32 MB
    .venv/bin/python bench/bench_uploads.py --size-mb 1024  # 1 GB
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

try:
    from bench import common
except ModuleNotFoundError:  # run as a script
    import common  # type: ignore[no-redef]

PIECE = 1024 * 1024
TUS_PATCH_BYTES = 256 * 1024 * 1024  # the size of each resumable piece a client sends


def _make_dicom(path: Path, size: int) -> None:
    """A file that passes validation (a DICOM preamble) with incompressible content."""
    with open(path, "wb") as f:
        f.write(b"\x00" * 128 + b"DICM")
        left = size - 132
        while left > 0:
            n = min(PIECE, left)
            f.write(os.urandom(n))
            left -= n


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _worker_pid(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn worker did not start")


class Sampler:
    """Peak VmRSS of a process, sampled every 20 ms while an upload runs."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_kb(self.pid))
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_kb(self.pid))


def _file_body(path: Path, start: int, length: int):
    with open(path, "rb") as f:
        f.seek(start)
        left = length
        while left > 0:
            chunk = f.read(min(PIECE, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


def _upload_tus(port: int, token: str, case_id: int, path: Path, size: int) -> None:
    meta = {"case": str(case_id), "doc_type": "imaging_study", "filename": "bench-study.dcm"}
    metadata = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    auth = {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    conn.request("POST", "/api/v1/uploads/", headers={**auth, "Upload-Length": str(size), "Upload-Metadata": metadata})
    response = conn.getresponse()
    response.read()
    if response.status != 201:
        raise RuntimeError(f"tus create failed: {response.status}")
    location = response.getheader("Location").split("127.0.0.1", 1)[-1].split(str(port), 1)[-1]
    offset = 0
    while offset < size:
        n = min(TUS_PATCH_BYTES, size - offset)
        conn.request(
            "PATCH",
            location,
            body=_file_body(path, offset, n),
            headers={
                **auth,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(n),
            },
        )
        response = conn.getresponse()
        body = response.read()
        if response.status != 204:
            raise RuntimeError(f"tus PATCH failed: {response.status} {body[:300]!r}")
        offset = int(response.getheader("Upload-Offset"))
    conn.close()


def _upload_multipart(port: int, token: str, case_id: int, path: Path, size: int) -> None:
    boundary = uuid.uuid4().hex
    fields = {"case": str(case_id), "doc_type": "imaging_study"}
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench-study.dcm"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        yield from _file_body(path, 0, size)
        yield tail

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    conn.request(
        "POST",
        "/api/v1/documents/",
        body=body(),
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail)),
        },
    )
    response = conn.getresponse()
    data = response.read()
    if response.status != 201:
        raise RuntimeError(f"multipart upload failed: {response.status} {data[:300]!r}")
    conn.close()


def run(quick: bool = False, size_mb: int | None = None) -> list[dict]:
    common.setup_django()
    from django.conf import settings
    from rest_framework.authtoken.models import Token

    from cases.factories import CaseFactory
    from documents.models import Document

    size = (size_mb or (32 if quick else 256)) * 1024 * 1024
    small = 1024 * 1024
    user = common.bench_user("uploads")
    token, _ = Token.objects.get_or_create(user=user)
    case = CaseFactory(coordinator=user)

    work = Path(tempfile.mkdtemp(prefix="nav-bench-uploads-", dir=settings.BASE_DIR / "var"))
    media = work / "media"
    media.mkdir()
    source = work / "source.dcm"
    _make_dicom(source, size)
    source_small = work / "small.dcm"
    _make_dicom(source_small, small)

    def copy_seconds() -> float:
        """The throughput baseline: a plain copy of the same file on the same disk."""
        start = time.perf_counter()
        shutil.copyfile(source, work / "copy.dcm")
        with open(work / "copy.dcm", "rb") as f:
            os.fsync(f.fileno())
        seconds = time.perf_counter() - start
        (work / "copy.dcm").unlink()
        return seconds

    port = _free_port()
    env = {
        **os.environ,
        "NAVIGATOR_MEDIA_ROOT": str(media),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DOCUMENT_MAX_BYTES": str(max(size * 2, 8 * 1024**3)),
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_USER": "100000/minute",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "navigator.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "900",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = []
    try:
        worker = _worker_pid(server.pid)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        # Warm up: the first request imports the app and opens the database connection.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("OPTIONS", "/api/v1/uploads/", headers={"Authorization": f"Token {token.key}"})
        conn.getresponse().read()
        conn.close()

        def upload_once(upload, path, nbytes) -> tuple[float, float]:
            """(seconds, peak worker RSS over its idle size in MB) of one upload."""
            Document.objects.filter(case=case).delete()
            idle = _rss_kb(worker)
            with Sampler(worker) as sampler:
                start = time.perf_counter()
                upload(port, token.key, case.pk, path, nbytes)
                seconds = time.perf_counter() - start
            return seconds, (sampler.peak - idle) / 1024

        mb = size / 1024 / 1024
        for name, upload in (("tus", _upload_tus), ("multipart", _upload_multipart)):
            # Rounds alternate: the copy (throughput baseline), the small upload (memory
            # baseline: what serving an upload costs at all), the large upload.
            speeds, copies, growths, small_growths = [], [], [], []
            for _ in range(common.ROUNDS):
                copies.append(mb / copy_seconds())
                small_growths.append(upload_once(upload, source_small, small)[1])
                seconds, growth = upload_once(upload, source, size)
                speeds.append(mb / seconds)
                growths.append(growth)
            ratios = [v / b for v, b in zip(speeds, copies, strict=True)]
            rows.append(
                common.row(
                    f"upload {mb:.0f} MB via {name}: throughput",
                    statistics.median(speeds),
                    statistics.median(copies),
                    "MB/s",
                    notes="baseline: plain file copy on the same disk",
                    higher_is_better=True,
                    ratio=statistics.median(ratios),
                    spread=(min(ratios), max(ratios)),
                )
            )
            rows.append(
                common.row(
                    f"upload {mb:.0f} MB via {name}: server RSS over idle",
                    max(growths),
                    max(max(small_growths), 1 / 1024),
                    "MB",
                    notes=f"peak over {common.ROUNDS} rounds; baseline: the same upload of 1 MB (aim: under 64 MB "
                    "more than idle whatever the size)",
                )
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        Document.objects.filter(case=case).delete()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows = run(quick=args.quick, size_mb=args.size_mb)
    common.print_table(rows)


if __name__ == "__main__":
    main()

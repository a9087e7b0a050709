"""Fetch model files from the Hugging Face hub (or a mirror) into the local cache.

The only module that talks to the model hub (the retry policy lives in :mod:`ragkit._retry`).
A file lives at ``cache_dir / "models" / "<org>--<name>" / <revision> / <path>``. Downloads stream into
``<file>.incomplete`` (resumed with a ``Range`` request after a dropped connection), are checked
against a sha256 when one is known, and only then are moved onto the final path, so a file at the
final path is always complete. A ``<file>.lock`` file lock keeps two processes from fetching the
same file at once.

Usage::

    from pathlib import Path
    from ragkit._download import hub_download
    path = hub_download("BAAI/bge-small-en-v1.5", "tokenizer.json", cache_dir=Path("cache"))
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import httpx
from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from ragkit._retry import (
    BACKOFF_MAX,
    RETRY_AFTER_MAX,
    parse_retry_after,
    retry_delay,
)
from ragkit._retry import USER_AGENT as USER_AGENT  # re-exported: the LLM reranker uses it
from ragkit._retry import TransientError as _TransientError
from ragkit._retry import describe as _describe
from ragkit.errors import (
    ChecksumError,
    ConfigError,
    DownloadError,
    OfflineError,
    RemoteAuthError,
    RemoteNotFoundError,
)

__all__ = ["cached_file_path", "download_files", "hub_download", "hub_file_url"]

logger = logging.getLogger(__name__)

_BACKOFF_BASE = 1.0  # seconds before the first retry; doubles with each further attempt
_BACKOFF_MAX = BACKOFF_MAX
_RETRY_AFTER_MAX = RETRY_AFTER_MAX  # never wait longer than this, whatever Retry-After says
_CONNECT_TIMEOUT = 10.0
_MAX_REDIRECTS = 10
_CHUNK_SIZE = 1 << 20
_INCOMPLETE_SUFFIX = ".incomplete"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_sleep: Callable[[float], None] = time.sleep  # tests replace this to skip the waits


@dataclass(frozen=True)
class _Job:
    """One file to fetch, with everything the download steps need."""

    repo_id: str
    revision: str
    filename: str
    path: Path
    endpoint: str
    token: str | None = field(repr=False)  # never printed
    sha256: str | None
    timeout: httpx.Timeout
    retries: int
    show_progress_bar: bool

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ConfigError(f"retries must be >= 0, got {self.retries}.")
        if self.sha256 is not None and not _SHA256_RE.match(self.sha256):
            raise ConfigError(
                f"sha256 of {self.filename!r} must be 64 hex digits: {self.sha256!r}."
            )

    @property
    def url(self) -> str:
        return hub_file_url(self.endpoint, self.repo_id, self.revision, self.filename)

    @property
    def partial(self) -> Path:
        return self.path.with_name(self.path.name + _INCOMPLETE_SUFFIX)

    @property
    def label(self) -> str:
        return f"{self.filename!r} of {self.repo_id}@{self.revision}"


def hub_file_url(endpoint: str, repo_id: str, revision: str, filename: str) -> str:
    """The URL of a file in a hub repo, in the Hugging Face ``resolve`` layout.

    Args:
        endpoint: Base URL of the hub or of a mirror, e.g. ``"https://huggingface.co"``.
        repo_id: ``"<org>/<name>"``.
        revision: Branch, tag or commit hash (``"refs/pr/1"`` is quoted to one path segment).
        filename: Path of the file inside the repo, e.g. ``"onnx/model.onnx"``.

    Returns:
        ``{endpoint}/{repo_id}/resolve/{revision}/{filename}`` with each part URL-quoted.
    """
    repo = quote(repo_id, safe="/")
    return f"{endpoint.rstrip('/')}/{repo}/resolve/{quote(revision, safe='')}/{quote(filename)}"


def cached_file_path(cache_dir: Path, repo_id: str, revision: str, filename: str) -> Path:
    """Where a hub file is kept in the cache (whether or not it is there yet).

    Args:
        cache_dir: The ragkit cache folder.
        repo_id: ``"<org>/<name>"``; ``/`` becomes ``--`` in the folder name.
        revision: Branch, tag or commit hash; a ``/`` in it becomes ``--``.
        filename: Path of the file inside the repo.

    Returns:
        ``cache_dir / "models" / "<org>--<name>" / revision / filename``.

    Raises:
        ConfigError: A part is empty, absolute or would leave the cache (``..``).
    """
    _check_part("repo_id", repo_id)
    _check_part("revision", revision)
    _check_part("filename", filename)
    folder = Path(cache_dir) / "models" / repo_id.replace("/", "--") / revision.replace("/", "--")
    return folder.joinpath(*PurePosixPath(filename).parts)


def _check_part(name: str, value: str) -> None:
    parts = PurePosixPath(value.replace("\\", "/")).parts
    if not value or value.startswith(("/", "\\")) or ".." in parts or ":" in value:
        raise ConfigError(f"Invalid {name} {value!r}: it must be a relative hub path without '..'.")


def hub_download(
    repo_id: str,
    filename: str,
    *,
    revision: str = "main",
    cache_dir: Path,
    endpoint: str = "https://huggingface.co",
    token: str | None = None,
    offline: bool = False,
    sha256: str | None = None,
    timeout: float = 30.0,
    retries: int = 5,
    show_progress_bar: bool | None = None,
    client: httpx.Client | None = None,
) -> Path:
    """Return the cached path of a hub file, downloading it first if it is not cached.

    Args:
        repo_id: ``"<org>/<name>"``.
        filename: Path of the file inside the repo.
        revision: Branch, tag or commit hash.
        cache_dir: The ragkit cache folder.
        endpoint: Base URL of the hub or of a mirror.
        token: Hub token, sent as ``Authorization: Bearer`` to the endpoint's host only.
        offline: Never touch the network; fail if the file is not cached.
        sha256: Expected checksum. Without it, the hub's LFS sha256 (``X-Linked-Etag``) is used
            when the hub sends one.
        timeout: Seconds to wait for each network read.
        retries: Further attempts after a transient failure (connection, timeout, 429, 5xx).
        show_progress_bar: Show a byte progress bar; None shows it when the ``ragkit`` logger is
            enabled for INFO.
        client: An httpx client to reuse (left open); its ``auth`` is not used, pass ``token``.

    Returns:
        The path of the complete, verified file in the cache.

    Raises:
        OfflineError: ``offline`` is true and the file is not cached.
        RemoteAuthError: The hub answered 401/403 (gated or private repo, or a bad token).
        RemoteNotFoundError: The hub answered 404.
        ChecksumError: The file did not match its sha256, twice.
        DownloadError: The download failed after every retry, or the file could not be written.
        ConfigError: An argument is invalid.
    """
    if show_progress_bar is None:
        show_progress_bar = logging.getLogger("ragkit").isEnabledFor(logging.INFO)
    path = cached_file_path(cache_dir, repo_id, revision, filename)
    job = _Job(
        repo_id, revision, filename, path, endpoint, token or None,
        sha256.lower() if sha256 else None, _make_timeout(timeout), retries, show_progress_bar,
    )  # fmt: skip
    if job.path.is_file():
        logger.debug("Cache hit for %s: %s", job.label, job.path)
        return job.path
    if offline:
        raise _offline_error(job)
    logger.debug("Cache miss for %s; downloading %s", job.label, job.url)
    if client is not None:
        return _fetch_locked(client, job)
    with _make_client(job.timeout) as own_client:
        return _fetch_locked(own_client, job)


def download_files(
    repo_id: str,
    filenames: Sequence[str],
    *,
    revision: str = "main",
    cache_dir: Path,
    endpoint: str = "https://huggingface.co",
    token: str | None = None,
    offline: bool = False,
    sha256: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    retries: int = 5,
    show_progress_bar: bool | None = None,
    client: httpx.Client | None = None,
) -> dict[str, Path]:
    """Fetch several files of one repo with one shared HTTP client.

    Takes the arguments of :func:`hub_download`, with ``filenames`` (paths inside the repo) in
    place of ``filename`` and ``sha256`` mapping file names to their expected checksums (files not
    in it are checked as :func:`hub_download` does). No client is opened when every file is
    cached or ``offline`` is true.

    Returns:
        The cached path of each file, by file name, in the order given.

    Raises:
        OfflineError: ``offline`` is true and a file is not cached (the first one missing).
        DownloadError: As :func:`hub_download`, for the first file that fails.
    """
    checksums = dict(sha256 or {})

    def fetch(name: str, http: httpx.Client | None) -> Path:
        return hub_download(
            repo_id, name, revision=revision, cache_dir=cache_dir, endpoint=endpoint,
            token=token, offline=offline, sha256=checksums.get(name), timeout=timeout,
            retries=retries, show_progress_bar=show_progress_bar, client=http,
        )  # fmt: skip

    missing = [
        n for n in filenames if not cached_file_path(cache_dir, repo_id, revision, n).is_file()
    ]
    if client is not None or offline or not missing:
        return {name: fetch(name, client) for name in filenames}
    with _make_client(_make_timeout(timeout)) as own_client:
        return {name: fetch(name, own_client) for name in filenames}


def _make_timeout(timeout: float) -> httpx.Timeout:
    if timeout <= 0:
        raise ConfigError(f"timeout must be > 0 seconds, got {timeout}.")
    return httpx.Timeout(timeout, connect=min(_CONNECT_TIMEOUT, timeout))


def _make_client(timeout: httpx.Timeout) -> httpx.Client:
    # trust_env: honour HTTP(S)_PROXY, NO_PROXY and SSL_CERT_FILE like every other HTTP tool.
    return httpx.Client(
        timeout=timeout, trust_env=True, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    )


def _offline_error(job: _Job) -> OfflineError:
    return OfflineError(
        f"Offline mode is on and {job.filename!r} (repo {job.repo_id!r}, revision "
        f"{job.revision!r}) is not in the cache; expected it at {job.path}. To get it: run "
        f"`ragkit models pull {job.repo_id}` on a connected machine and copy its cache folder "
        "here (point RAGKIT_CACHE_DIR at it), or pass a local model folder instead of a model id, "
        "or turn offline mode off (unset RAGKIT_OFFLINE / HF_HUB_OFFLINE)."
    )


def _fetch_locked(client: httpx.Client, job: _Job) -> Path:
    try:
        job.path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(job):
            if job.path.is_file():  # another process fetched it while we waited
                logger.debug("Cache hit for %s after waiting for its lock", job.label)
                return job.path
            _download_verified(client, job)
    except OSError as exc:
        raise DownloadError(f"Could not write {job.label} to {job.path}: {exc}") from exc
    return job.path


@contextmanager
def _file_lock(job: _Job) -> Iterator[None]:
    lock = FileLock(str(job.path.with_name(job.path.name + ".lock")))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("Another process is downloading %s; waiting for it", job.label)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _download_verified(client: httpx.Client, job: _Job) -> None:
    """Download, verify and place the file; one fresh retry after a checksum mismatch."""
    for attempt in (1, 2):
        expected = _download_with_retries(client, job)
        try:
            _verify(job, expected)
        except ChecksumError as exc:
            job.partial.unlink(missing_ok=True)
            if attempt == 2:
                raise
            logger.warning("%s; downloading it again from scratch", exc)
            continue
        _fsync(job.partial)
        os.replace(job.partial, job.path)
        logger.debug("Saved %s to %s", job.label, job.path)
        return


def _download_with_retries(client: httpx.Client, job: _Job) -> str | None:
    """Fetch into the ``.incomplete`` file, retrying transient failures; return the sha256."""
    attempts = job.retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return _fetch_once(client, job)
        except (httpx.TransportError, _TransientError) as exc:
            reason = _describe(exc)
            if attempt == attempts or isinstance(exc, httpx.UnsupportedProtocol):
                raise DownloadError(
                    f"Could not download {job.label} from {job.url} after {attempt} "
                    f"attempt{'s' if attempt > 1 else ''}: {reason}; check your network/proxy, "
                    "or set RAGKIT_OFFLINE=1 and use a local folder."
                ) from exc
            delay = _retry_delay(
                attempt, exc.retry_after if isinstance(exc, _TransientError) else None
            )
            logger.warning(
                "Downloading %s failed (%s); retry %d of %d in %.1f s",
                job.label, reason, attempt, job.retries, delay,
            )  # fmt: skip
            _sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _retry_delay(attempt: int, retry_after: float | None) -> float:
    return retry_delay(
        attempt, retry_after, base=_BACKOFF_BASE, cap=_BACKOFF_MAX, retry_after_max=_RETRY_AFTER_MAX
    )


def _fetch_once(client: httpx.Client, job: _Job) -> str | None:
    """One GET (resuming from a partial file); return the sha256 the file should have."""
    offset = job.partial.stat().st_size if job.partial.exists() else 0
    with _open_stream(client, job, offset) as (response, hub_sha):
        expected = job.sha256 or hub_sha
        if response.status_code == 416:
            total = _content_range_total(response)
            if total == offset:  # the partial file already holds every byte
                return expected
            logger.debug("Server refused range %d- for %s; starting over", offset, job.label)
            job.partial.unlink()
        else:
            _write_body(response, job, offset)
            return expected
    return _fetch_once(client, job)  # no partial file now, so no Range and no 416


@contextmanager
def _open_stream(
    client: httpx.Client, job: _Job, offset: int
) -> Iterator[tuple[httpx.Response, str | None]]:
    """Send the GET and follow redirects by hand, so the token never leaves the endpoint host."""
    url = httpx.URL(job.url)
    hub_sha: str | None = None
    for _ in range(_MAX_REDIRECTS + 1):
        request = client.build_request(
            "GET", url, headers=_headers(job, url, offset), timeout=job.timeout
        )
        if not _same_origin(url, httpx.URL(job.endpoint)):
            request.headers.pop("Authorization", None)
        response = client.send(request, stream=True, auth=None, follow_redirects=False)
        hub_sha = hub_sha or _sha256_from_headers(response.headers)
        if not response.has_redirect_location:
            break
        response.close()
        url = url.join(response.headers["Location"])
        logger.debug("Following redirect for %s to %s", job.label, url.copy_with(query=None))
    else:
        raise DownloadError(f"Too many redirects fetching {job.label} from {job.url}.")
    try:
        _check_status(response, job, url)
        yield response, hub_sha
    finally:
        response.close()


def _headers(job: _Job, url: httpx.URL, offset: int) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    if job.token and _same_origin(url, httpx.URL(job.endpoint)):
        headers["Authorization"] = f"Bearer {job.token}"
    return headers


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    def origin(u: httpx.URL) -> tuple[str, str, int | None]:
        return u.scheme, u.host, u.port or _DEFAULT_PORTS.get(u.scheme)

    return origin(a) == origin(b)


def _sha256_from_headers(headers: httpx.Headers) -> str | None:
    for name in ("X-Linked-Etag", "ETag"):
        value = str(headers.get(name, "")).strip().removeprefix("W/").strip('"').lower()
        if _SHA256_RE.match(value):
            return value
    return None


def _check_status(response: httpx.Response, job: _Job, url: httpx.URL) -> None:
    code = response.status_code
    if code in (200, 206, 416):
        return
    detail = response.headers.get("X-Error-Message") or response.reason_phrase
    where = f"{job.filename!r} (repo {job.repo_id!r}, revision {job.revision!r}) at {job.url}"
    if code in (401, 403):
        raise RemoteAuthError(
            f"The hub refused {where} with HTTP {code} ({detail}). The repo may be gated or "
            "private: accept its terms on the hub and set HF_TOKEN to a token that can read it."
        )
    if code == 404:
        raise RemoteNotFoundError(
            f"Not found on the hub: {where} (HTTP 404: {detail}). Check the repo id, the revision "
            "and the file name."
        )
    if code in (408, 429) or code >= 500:
        raise _TransientError(f"HTTP {code} {detail}", _parse_retry_after(response))
    raise DownloadError(f"Unexpected HTTP {code} ({detail}) fetching {where} from {url}.")


_parse_retry_after = parse_retry_after


def _content_range_total(response: httpx.Response) -> int | None:
    match = re.search(r"/(\d+)\s*$", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _write_body(response: httpx.Response, job: _Job, offset: int) -> None:
    """Stream the body into the partial file: append after a 206, start over after a 200."""
    if response.status_code == 206:
        match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != offset:
            job.partial.unlink(missing_ok=True)
            raise _TransientError(f"server sent the wrong range for bytes={offset}-")
    else:
        offset = 0
    length = response.headers.get("Content-Length")
    encoded = "Content-Encoding" in response.headers
    total = offset + int(length) if length and length.isdigit() and not encoded else None
    with (
        job.partial.open("ab" if offset else "wb") as out,
        tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=job.filename, disable=not job.show_progress_bar,
        ) as bar,
    ):  # fmt: skip
        for chunk in response.iter_bytes():
            out.write(chunk)
            bar.update(len(chunk))
    size = job.partial.stat().st_size
    if total is not None and size != total:
        raise _TransientError(f"connection closed after {size} of {total} bytes")


def _verify(job: _Job, expected: str | None) -> None:
    if expected is None:
        logger.debug("No sha256 known for %s; not verifying it", job.label)
        return
    actual = _file_sha256(job.partial)
    if actual != expected:
        raise ChecksumError(
            f"Checksum mismatch for {job.label}: expected sha256 {expected}, got {actual}. "
            "The download was corrupted or the file changed on the hub."
        )


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_CHUNK_SIZE), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with path.open("ab") as f:
        os.fsync(f.fileno())

"""Tests for ragkit._download against a local fake hub (no internet needed)."""

from __future__ import annotations

import email.utils
import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from filelock import FileLock

from ragkit import _download
from ragkit._download import cached_file_path, download_files, hub_download, hub_file_url
from ragkit._version import __version__
from ragkit.errors import (
    ChecksumError,
    ConfigError,
    DownloadError,
    OfflineError,
    RemoteAuthError,
    RemoteNotFoundError,
)
from tests.hub_server import Action, HubServer, sha256_hex

REPO = "acme/tiny-model"
NAME = "onnx/model.onnx"
DATA = random.Random(0).randbytes(200_000)
HALF = len(DATA) // 2
TOKEN = "hf_SECRET_token_123"
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record retry waits instead of sleeping, and keep any proxy of the host out of the way."""
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    waits: list[float] = []
    monkeypatch.setattr(_download, "_sleep", waits.append)
    monkeypatch.setattr(_download, "_BACKOFF_BASE", 0.001)
    return waits


@pytest.fixture
def hub() -> Iterator[HubServer]:
    with HubServer() as server:
        yield server


@pytest.fixture
def cdn() -> Iterator[HubServer]:
    with HubServer() as server:
        yield server


@pytest.fixture
def fetch(hub: HubServer, tmp_path: Path) -> Callable[..., Path]:
    """hub_download of REPO from the fake hub into tmp_path, with overridable arguments."""

    def run(filename: str = NAME, **kwargs: Any) -> Path:
        kwargs.setdefault("show_progress_bar", False)
        return hub_download(REPO, filename, cache_dir=tmp_path, endpoint=hub.url, **kwargs)

    return run


def _final(tmp_path: Path, filename: str = NAME) -> Path:
    return cached_file_path(tmp_path, REPO, "main", filename)


def _partial(tmp_path: Path, filename: str = NAME) -> Path:
    final = _final(tmp_path, filename)
    return final.with_name(final.name + ".incomplete")


def _write_partial(tmp_path: Path, data: bytes) -> Path:
    partial = _partial(tmp_path)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(data)
    return partial


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# -- URLs and cache layout ---------------------------------------------------------------------


def test_hub_file_url_uses_the_resolve_layout_and_quotes_parts() -> None:
    assert (
        hub_file_url("https://huggingface.co/", "BAAI/bge-small-en-v1.5", "main", "onnx/model.onnx")
        == "https://huggingface.co/BAAI/bge-small-en-v1.5/resolve/main/onnx/model.onnx"
    )
    assert (
        hub_file_url("https://mirror.example/hf", "a/b", "refs/pr/1", "dir/my file#1.json")
        == "https://mirror.example/hf/a/b/resolve/refs%2Fpr%2F1/dir/my%20file%231.json"
    )


def test_cached_file_path_layout(tmp_path: Path) -> None:
    assert cached_file_path(tmp_path, "BAAI/bge-small-en-v1.5", "main", "onnx/model.onnx") == (
        tmp_path / "models" / "BAAI--bge-small-en-v1.5" / "main" / "onnx" / "model.onnx"
    )
    assert cached_file_path(tmp_path, "a/b", "refs/pr/1", "x.json") == (
        tmp_path / "models" / "a--b" / "refs--pr--1" / "x.json"
    )


@pytest.mark.parametrize(
    ("repo_id", "revision", "filename"),
    [
        ("a/b", "main", "../../escape"),
        ("a/b", "main", "/etc/passwd"),
        ("../x", "main", "f"),
        ("a/b", "", "f"),
    ],
)
def test_cached_file_path_rejects_paths_leaving_the_cache(
    tmp_path: Path, repo_id: str, revision: str, filename: str
) -> None:
    with pytest.raises(ConfigError, match="Invalid"):
        cached_file_path(tmp_path, repo_id, revision, filename)


@pytest.mark.parametrize("kwargs", [{"retries": -1}, {"timeout": 0}, {"sha256": "abc"}])
def test_invalid_arguments_raise_config_error(
    fetch: Callable[..., Path], hub: HubServer, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError):
        fetch(**kwargs)
    assert hub.requests() == []


# -- cache and offline -------------------------------------------------------------------------


def test_download_saves_the_file_and_then_hits_the_cache(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    first = fetch()
    assert first == _final(tmp_path)
    assert first.read_bytes() == DATA
    assert not _partial(tmp_path).exists()
    assert len(hub.requests(path)) == 1

    assert fetch() == first
    assert fetch(offline=True) == first
    assert len(hub.requests()) == 1


def test_prefilled_cache_makes_no_request(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    hub.add_file(REPO, NAME, DATA)
    final = _final(tmp_path)
    final.parent.mkdir(parents=True)
    final.write_bytes(b"cached")
    assert fetch().read_bytes() == b"cached"
    assert hub.requests() == []


def test_offline_never_connects_and_names_what_is_missing(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    hub.add_file(REPO, NAME, DATA)
    with pytest.raises(OfflineError) as info:
        fetch(offline=True)
    message = str(info.value)
    for part in (REPO, "'main'", repr(NAME), str(_final(tmp_path))):
        assert part in message
    for hint in (f"ragkit models pull {REPO}", "RAGKIT_CACHE_DIR", "local model folder"):
        assert hint in message
    assert hub.requests() == []


# -- headers, token, redirects, proxies --------------------------------------------------------


def test_token_and_user_agent_go_to_the_endpoint_and_never_into_logs(
    fetch: Callable[..., Path], hub: HubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = hub.add_file(REPO, NAME, DATA)
    fetch(token=TOKEN)
    (request,) = hub.requests(path)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"] == f"ragkit/{__version__}"
    assert "range" not in request.headers
    assert TOKEN not in caplog.text


def test_no_authorization_header_without_a_token(
    fetch: Callable[..., Path], hub: HubServer
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    fetch()
    assert "authorization" not in hub.requests(path)[0].headers


def test_redirect_to_another_host_drops_the_token_and_keeps_the_hub_checksum(
    fetch: Callable[..., Path], hub: HubServer, cdn: HubServer
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    cdn.add_path("/blobs/abc", DATA)  # the CDN sends no checksum header of its own
    hub.queue(path, Action(redirect_to=f"{cdn.url}/blobs/abc?X-Amz-Signature=x"))
    assert fetch(token=TOKEN).read_bytes() == DATA
    assert hub.requests(path)[0].headers["authorization"] == f"Bearer {TOKEN}"
    (cdn_request,) = cdn.requests("/blobs/abc")
    assert "authorization" not in cdn_request.headers
    assert cdn_request.headers["user-agent"].startswith("ragkit/")


def test_checksum_from_the_redirect_catches_a_corrupt_cdn_body(
    fetch: Callable[..., Path], hub: HubServer, cdn: HubServer, tmp_path: Path
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    cdn.add_path("/blobs/abc", DATA[:-1] + b"!")
    hub.queue(path, *[Action(redirect_to=f"{cdn.url}/blobs/abc")] * 2)
    with pytest.raises(ChecksumError, match=sha256_hex(DATA)):
        fetch()
    assert not _final(tmp_path).exists()


def test_same_host_redirect_keeps_the_token(fetch: Callable[..., Path], hub: HubServer) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    moved = hub.add_file("acme/renamed", NAME, DATA)
    hub.queue(path, Action(redirect_to=moved))  # a relative Location, as for a renamed repo
    assert fetch(token=TOKEN).read_bytes() == DATA
    assert hub.requests(moved)[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_proxy_environment_variables_are_honoured(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", hub.url)  # the fake hub also answers as a forward proxy
    hub.add_file(REPO, NAME, DATA)
    endpoint = "http://hub.invalid"
    path = hub_download(
        REPO, NAME, cache_dir=tmp_path, endpoint=endpoint, token=TOKEN, show_progress_bar=False
    )
    assert path.read_bytes() == DATA
    (request,) = hub.requests()
    assert request.target == hub_file_url(endpoint, REPO, "main", NAME)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_client_passed_in_is_used_and_left_open(hub: HubServer, tmp_path: Path) -> None:
    hub.add_file(REPO, NAME, DATA)
    with httpx.Client() as client:
        hub_download(REPO, NAME, cache_dir=tmp_path, endpoint=hub.url, client=client)
        assert not client.is_closed


# -- errors that are not retried ---------------------------------------------------------------


def test_404_raises_not_found_naming_repo_revision_file_and_url(
    fetch: Callable[..., Path], hub: HubServer, sleeps: list[float]
) -> None:
    with pytest.raises(RemoteNotFoundError) as info:
        fetch(filename="missing.json", revision="v1")
    message = str(info.value)
    for part in (REPO, "'v1'", "'missing.json'", hub_file_url(hub.url, REPO, "v1", "missing.json")):
        assert part in message
    assert isinstance(info.value, LookupError)
    assert len(hub.requests()) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_are_not_retried_and_mention_hf_token(
    fetch: Callable[..., Path], hub: HubServer, sleeps: list[float], status: int
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    hub.queue(path, Action(status=status))
    with pytest.raises(RemoteAuthError) as info:
        fetch(token=TOKEN)
    assert "HF_TOKEN" in str(info.value)
    assert "gated" in str(info.value)
    assert TOKEN not in str(info.value)
    assert len(hub.requests()) == 1
    assert sleeps == []


# -- retries -----------------------------------------------------------------------------------


def test_503s_are_retried_with_growing_backoff(
    fetch: Callable[..., Path], hub: HubServer, sleeps: list[float]
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    hub.queue(path, *[Action(status=503)] * 3)
    assert fetch(retries=5).read_bytes() == DATA
    assert len(hub.requests(path)) == 4
    assert len(sleeps) == 3
    base = _download._BACKOFF_BASE
    for attempt, wait in enumerate(sleeps, start=1):
        assert base * 2 ** (attempt - 1) / 2 <= wait <= base * 2 ** (attempt - 1)


def test_429_honours_retry_after(
    fetch: Callable[..., Path], hub: HubServer, sleeps: list[float]
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    hub.queue(path, Action(status=429, headers={"Retry-After": "7"}))
    assert fetch().read_bytes() == DATA
    assert sleeps == [7.0]


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [("in 5 s", 3.0, 5.01), ("100000", _download._RETRY_AFTER_MAX, _download._RETRY_AFTER_MAX)],
)
def test_retry_after_as_a_date_and_capped(
    fetch: Callable[..., Path],
    hub: HubServer,
    sleeps: list[float],
    retry_after: str,
    low: float,
    high: float,
) -> None:
    if retry_after == "in 5 s":
        retry_after = email.utils.formatdate(time.time() + 5, usegmt=True)
    path = hub.add_file(REPO, NAME, DATA)
    hub.queue(path, Action(status=503, headers={"Retry-After": retry_after}))
    assert fetch().read_bytes() == DATA
    (wait,) = sleeps
    assert low <= wait <= high


def test_job_repr_hides_the_token(tmp_path: Path) -> None:
    job = _download._Job(
        REPO,
        "main",
        NAME,
        _final(tmp_path),
        "https://hub",
        TOKEN,
        None,
        httpx.Timeout(1.0),
        0,
        False,
    )
    assert TOKEN not in repr(job)


def test_retries_exhausted_raise_download_error_with_advice(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    hub.queue(path, *[Action(status=500)] * 5)
    with pytest.raises(DownloadError) as info:
        fetch(retries=2)
    assert type(info.value) is DownloadError
    message = str(info.value)
    assert "after 3 attempts" in message
    assert "HTTP 500" in message
    assert "RAGKIT_OFFLINE=1" in message
    assert len(hub.requests(path)) == 3
    assert not _final(tmp_path).exists()


def test_connection_errors_are_retried_then_reported(tmp_path: Path, sleeps: list[float]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(DownloadError, match="after 2 attempts: ConnectError"):
        hub_download(REPO, NAME, cache_dir=tmp_path, endpoint=f"http://127.0.0.1:{port}", retries=1)
    assert len(sleeps) == 1


def test_read_timeout_is_retried(
    fetch: Callable[..., Path], hub: HubServer, sleeps: list[float]
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    hub.queue(path, Action(delay=0.5))
    assert fetch(timeout=0.1).read_bytes() == DATA
    assert len(hub.requests(path)) == 2
    assert len(sleeps) == 1


# -- resuming ----------------------------------------------------------------------------------


def test_dropped_connection_is_resumed_with_a_range_request(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    hub.queue(path, Action(drop_after=HALF))
    assert fetch().read_bytes() == DATA
    first, second = hub.requests(path)
    assert "range" not in first.headers
    assert second.headers["range"] == f"bytes={HALF}-"
    assert not _partial(tmp_path).exists()


def test_failed_download_keeps_the_partial_and_a_later_call_resumes(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    hub.queue(path, Action(drop_after=HALF))
    with pytest.raises(DownloadError, match="after 1 attempt:"):
        fetch(retries=0)
    assert not _final(tmp_path).exists()
    assert _partial(tmp_path).read_bytes() == DATA[:HALF]

    assert fetch(retries=0).read_bytes() == DATA
    assert hub.requests(path)[-1].headers["range"] == f"bytes={HALF}-"


def test_a_partial_from_an_earlier_call_is_resumed(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    _write_partial(tmp_path, DATA[:1000])
    assert fetch().read_bytes() == DATA
    (request,) = hub.requests(path)
    assert request.headers["range"] == "bytes=1000-"


def test_a_200_answer_to_a_range_request_starts_over(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    hub.queue(path, Action(ignore_range=True))
    _write_partial(tmp_path, b"x" * 1000)
    assert fetch().read_bytes() == DATA
    assert len(hub.requests(path)) == 1


def test_416_with_a_complete_partial_just_places_it(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    _write_partial(tmp_path, DATA)
    assert fetch().read_bytes() == DATA
    (request,) = hub.requests(path)
    assert request.headers["range"] == f"bytes={len(DATA)}-"


def test_416_with_an_oversized_partial_starts_over(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path, sleeps: list[float]
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    _write_partial(tmp_path, DATA + b"junk")
    assert fetch().read_bytes() == DATA
    first, second = hub.requests(path)
    assert first.headers["range"] == f"bytes={len(DATA) + 4}-"
    assert "range" not in second.headers
    assert sleeps == []


def test_a_stale_partial_fails_the_checksum_and_is_fetched_again_from_scratch(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    _write_partial(tmp_path, b"old version of the file")
    assert fetch().read_bytes() == DATA
    first, second = hub.requests(path)
    assert first.headers["range"] == "bytes=23-"
    assert "range" not in second.headers


# -- checksums ---------------------------------------------------------------------------------


def test_corrupt_file_raises_checksum_error_naming_both_hashes(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    claimed = sha256_hex(b"what the hub says")
    path = hub.add_file(REPO, NAME, DATA, sha256=claimed)
    with pytest.raises(ChecksumError) as info:
        fetch()
    message = str(info.value)
    assert NAME in message
    assert claimed in message
    assert sha256_hex(DATA) in message
    assert len(hub.requests(path)) == 2  # one fresh retry, then give up
    assert not _final(tmp_path).exists()
    assert not _partial(tmp_path).exists()


def test_explicit_sha256_is_checked_even_without_a_hub_checksum(
    fetch: Callable[..., Path], hub: HubServer
) -> None:
    hub.add_file(REPO, "config.json", b"{}", lfs=False)
    with pytest.raises(ChecksumError):
        fetch(filename="config.json", sha256="0" * 64)
    assert fetch(filename="config.json", sha256=sha256_hex(b"{}").upper()).read_bytes() == b"{}"


def test_plain_etag_is_used_when_it_is_a_sha256(fetch: Callable[..., Path], hub: HubServer) -> None:
    hub.add_path(f"/{REPO}/resolve/main/a.bin", DATA, {"ETag": f'"{sha256_hex(b"other")}"'})
    hub.add_path(f"/{REPO}/resolve/main/b.json", b"{}", {"ETag": '"0a1b2c3d"'})
    with pytest.raises(ChecksumError):
        fetch(filename="a.bin")
    assert fetch(filename="b.json").read_bytes() == b"{}"  # a git sha1 ETag is not checked


# -- atomic placement and locking --------------------------------------------------------------


def test_the_final_path_only_appears_once_the_file_is_complete(
    fetch: Callable[..., Path], hub: HubServer, tmp_path: Path
) -> None:
    path = hub.add_file(REPO, NAME, DATA)
    resume = threading.Event()
    hub.queue(path, Action(pause_after=HALF, resume=resume))
    partial, final = _partial(tmp_path), _final(tmp_path)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(fetch)
        try:
            # The server holds the second half back: the download is mid-file from here on
            # (how much of the first half is on disk yet depends on write buffering).
            _wait_for(
                lambda: partial.exists() and len(hub.requests(path)) == 1, "a started download"
            )
            assert not final.exists()
        finally:
            resume.set()
        assert future.result() == final
    assert final.read_bytes() == DATA
    assert not partial.exists()


def test_two_threads_fetching_one_file_make_one_request(
    fetch: Callable[..., Path], hub: HubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ragkit")
    path = hub.add_file(REPO, NAME, DATA)
    resume = threading.Event()
    hub.queue(path, Action(pause_after=HALF, resume=resume))
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(fetch)
        try:
            _wait_for(lambda: len(hub.requests(path)) == 1, "the first request")
            second = pool.submit(fetch)
            _wait_for(lambda: "Another process is downloading" in caplog.text, "the lock wait")
        finally:
            resume.set()
        assert first.result() == second.result()
    assert first.result().read_bytes() == DATA
    assert len(hub.requests(path)) == 1


def test_another_process_waits_for_the_lock_and_then_uses_the_cache(
    hub: HubServer, tmp_path: Path
) -> None:
    hub.add_file(REPO, NAME, DATA)
    final = _final(tmp_path)
    final.parent.mkdir(parents=True)
    code = (
        "import logging, sys; from pathlib import Path; "
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr); "
        "from ragkit._download import hub_download; "
        f"print(hub_download({REPO!r}, {NAME!r}, cache_dir=Path(sys.argv[1]), "
        f"endpoint={hub.url!r}, show_progress_bar=False))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with FileLock(str(final) + ".lock"):
        child = subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert child.stderr is not None
        lines = []
        while "Another process is downloading" not in (line := child.stderr.readline()):
            lines.append(line)
            assert line, f"child exited early: {''.join(lines)}"
        final.write_bytes(DATA)  # as if this process had just finished downloading it
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert out.strip() == str(final)
    assert hub.requests() == []


# -- several files, progress bar -------------------------------------------------------------


def test_download_files_shares_one_client(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[httpx.Client] = []
    real_make_client = _download._make_client

    def counting_make_client(timeout: httpx.Timeout) -> httpx.Client:
        made.append(real_make_client(timeout))
        return made[-1]

    monkeypatch.setattr(_download, "_make_client", counting_make_client)
    names = ["tokenizer.json", "config.json", NAME]
    for name in names:
        hub.add_file(REPO, name, name.encode() * 10, lfs=False)
    checksums = {"config.json": sha256_hex(b"config.json" * 10)}

    paths = download_files(REPO, names, cache_dir=tmp_path, endpoint=hub.url, sha256=checksums)
    assert list(paths) == names
    assert all(paths[n].read_bytes() == n.encode() * 10 for n in names)
    assert len(made) == 1 and made[0].is_closed
    assert len(hub.requests()) == 3

    again = download_files(REPO, names, cache_dir=tmp_path, endpoint=hub.url, offline=True)
    assert again == paths
    assert len(made) == 1  # everything cached: no client at all


def test_download_files_checks_each_given_sha256(hub: HubServer, tmp_path: Path) -> None:
    hub.add_file(REPO, "a.json", b"a", lfs=False)
    hub.add_file(REPO, "b.json", b"b", lfs=False)
    with pytest.raises(ChecksumError, match="b.json"):
        download_files(
            REPO, ["a.json", "b.json"], cache_dir=tmp_path, endpoint=hub.url,
            sha256={"a.json": sha256_hex(b"a"), "b.json": sha256_hex(b"a")},
        )  # fmt: skip


def test_download_files_offline_names_the_missing_file(hub: HubServer, tmp_path: Path) -> None:
    with pytest.raises(OfflineError, match="tokenizer.json"):
        download_files(REPO, ["tokenizer.json"], cache_dir=tmp_path, offline=True)
    assert hub.requests() == []


@pytest.mark.parametrize(
    ("show", "ragkit_level", "shown"),
    [(True, logging.WARNING, True), (False, logging.INFO, False), (None, logging.INFO, True),
     (None, logging.WARNING, False)],
)  # fmt: skip
def test_progress_bar(
    fetch: Callable[..., Path],
    hub: HubServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    show: bool | None,
    ragkit_level: int,
    shown: bool,
) -> None:
    caplog.set_level(ragkit_level, logger="ragkit")
    hub.add_file(REPO, NAME, DATA)
    fetch(show_progress_bar=show)
    assert (NAME in capsys.readouterr().err) is shown

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from ragkit import DependencyError, LoaderError, UndecodableFileError, load_file
from ragkit.errors import ConfigError
from tests.loaders.pdf_builder import build_pdf


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_text_file_metadata_and_relative_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "notes" / "a.txt", "Binary codes\nare small.\n")
    (doc,) = load_file(path, root=tmp_path)
    assert doc.id == "notes/a.txt"
    assert doc.text == "Binary codes\nare small.\n"
    assert doc.title == "a"
    assert doc.metadata["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc.metadata["mtime"] == path.stat().st_mtime
    assert doc.metadata["path"] == str(path) and doc.metadata["format"] == "txt"
    assert load_file(path)[0].id == "a.txt"  # root defaults to the file's folder


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.txt", b"\xef\xbb\xbfcaf\xc3\xa9")
    assert load_file(path)[0].text == "café"


def test_undecodable_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path / "latin.txt", "café déjà".encode("cp1252"))
    with pytest.raises(
        UndecodableFileError, match=r"latin\.txt is not valid UTF-8.*offset 3"
    ) as err:
        load_file(path)
    assert err.value.path == str(path)
    assert isinstance(err.value, LoaderError) and isinstance(err.value, ValueError)
    assert "encoding='cp1252'" in str(err.value)
    assert load_file(path, encoding="cp1252")[0].text == "café déjà"  # only when asked
    with pytest.raises(ConfigError, match="Unknown encoding"):
        load_file(path, encoding="no-such-codec")


def test_root_must_contain_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "a" / "x.txt", "x")
    with pytest.raises(ConfigError, match="is not inside root"):
        load_file(path, root=tmp_path / "b")


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match=r"no loader for \.docx"):
        load_file(_write(tmp_path / "a.docx", b"PK"))
    with pytest.raises(LoaderError, match="Cannot read"):
        load_file(tmp_path / "missing.txt")


def test_markdown_title_is_the_first_h1_outside_code(tmp_path: Path) -> None:
    text = "```\n# not this\n```\n\n## Sub\n\n# The Guide\n\ntext"
    (doc,) = load_file(_write(tmp_path / "guide.md", text))
    assert doc.title == "The Guide" and doc.text == text and doc.metadata["format"] == "md"
    assert load_file(_write(tmp_path / "plain.md", "no heading"))[0].title == "plain"


HTML = """<!doctype html><html><head><title> Binary   codes </title>
<style>p { color: red }</style><script>var hidden = 1;</script></head>
<body><nav>Home</nav><h1>Memory</h1><p>Binary codes take <b>32x</b>
less memory.</p><!-- a comment --><ul><li>one</li><li>two</li></ul>
<h2>Code</h2><pre>def f(x):
    return x</pre><p>Line one<br>line two</p></body></html>"""


def test_html_visible_text_with_headings_as_markdown(tmp_path: Path) -> None:
    (doc,) = load_file(_write(tmp_path / "page.html", HTML))
    assert doc.title == "Binary codes"
    assert doc.text == (
        "# Memory\n\nBinary codes take 32x less memory.\n\none\ntwo\n\n## Code\n\n"
        "def f(x):\n    return x\n\nLine one\nline two"
    )
    assert "hidden" not in doc.text and "color" not in doc.text and "comment" not in doc.text
    assert "Home" not in doc.text  # navigation bars are not content
    assert doc.metadata["format"] == "html"


def test_html_title_falls_back_to_h1_then_stem(tmp_path: Path) -> None:
    assert load_file(_write(tmp_path / "a.htm", "<h1>Top</h1><p>x</p>"))[0].title == "Top"
    assert load_file(_write(tmp_path / "b.html", "<p>x</p>"))[0].title == "b"


def test_deeply_nested_html_does_not_recurse(tmp_path: Path) -> None:
    html = "<div>" * 3000 + "deep" + "</div>" * 3000
    assert load_file(_write(tmp_path / "deep.html", html))[0].text == "deep"


def test_html_without_beautifulsoup_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "page.html", HTML)
    monkeypatch.setitem(sys.modules, "bs4", None)
    with pytest.raises(DependencyError, match=r"pip install 'ragkit\[html\]'"):
        load_file(path)


def test_pdf_pages_and_title(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "paper.pdf", build_pdf(["Hello PDF world", "Page two"], title="A Paper")
    )
    (doc,) = load_file(path)
    assert doc.text == "Hello PDF world\n\nPage two"
    assert doc.title == "A Paper" and doc.metadata["pages"] == 2
    assert doc.metadata["format"] == "pdf" and doc.id == "paper.pdf"
    untitled = _write(tmp_path / "untitled.pdf", build_pdf(["x"]))
    assert load_file(untitled)[0].title == "untitled"


def test_damaged_pdf_is_a_loader_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.pdf", b"%PDF-1.4\nnot really a pdf")
    with pytest.raises(LoaderError, match=r"broken\.pdf as a PDF"):
        load_file(path)


def test_pdf_without_pypdf_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "paper.pdf", build_pdf(["x"]))
    monkeypatch.setitem(sys.modules, "pypdf", None)
    with pytest.raises(DependencyError, match=r"pip install 'ragkit\[pdf\]'"):
        load_file(path)

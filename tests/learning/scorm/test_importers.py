"""SCORM package safety: every refusal happens before anything is stored, with its own error code."""

import io
import stat
import zipfile

import pytest

from engage.core.errors import DomainError
from learning.scorm import importers
from learning.scorm.exporters import MANIFEST, scorm_sample_package
from learning.scorm.importers import manifest_parse, package_read


def _zip(entries) -> io.BytesIO:
    """entries: (name or ZipInfo, bytes) pairs, written as they are (no name cleaning)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def _with_sample(*extra) -> io.BytesIO:
    sample = zipfile.ZipFile(io.BytesIO(scorm_sample_package()))
    entries = [(info.filename, sample.read(info)) for info in sample.infolist()]
    return _zip([*entries, *extra])


def _code(upload) -> str:
    with pytest.raises(DomainError) as caught:
        package_read(upload)
    return caught.value.code


def test_the_sample_package_is_read_with_its_launch_file_and_mastery_score():
    manifest, files = package_read(io.BytesIO(scorm_sample_package(title="微课")))
    assert manifest.launch == "index.html"
    assert manifest.title == "微课"
    assert manifest.version == "1.2"
    assert str(manifest.mastery_score) == "80"
    assert sorted(path for path, _data in files) == ["imsmanifest.xml", "index.html", "sco.js"]


@pytest.mark.parametrize("name", ["../evil.html", "a/../../evil.html", "/etc/passwd", "C:/windows/evil.html",
                                  "..\\evil.html", "a/..\\..\\evil.html"])
def test_path_traversal_is_refused(name):
    assert _code(_with_sample((name, b"x"))) == "scorm_unsafe_path"


def test_a_symlink_in_the_external_attributes_is_refused():
    info = zipfile.ZipInfo("link.html")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    assert _code(_with_sample((info, b"/etc/passwd"))) == "scorm_unsafe_file"


def test_a_zip_bomb_is_refused_by_its_compression_ratio():
    assert _code(_with_sample(("bomb.txt", b"\0" * (20 * 1024 * 1024)))) == "scorm_compression_ratio"


def test_too_many_files_are_refused(monkeypatch):
    monkeypatch.setattr(importers, "MAX_FILES", 5)
    assert _code(_with_sample(*[(f"f{i}.txt", b"x") for i in range(5)])) == "scorm_too_many_files"


def test_a_file_above_the_per_file_limit_is_refused(monkeypatch):
    monkeypatch.setattr(importers, "MAX_FILE_SIZE", 1000)
    assert _code(_with_sample(("big.bin", bytes(range(256)) * 8))) == "scorm_file_too_large"


def test_a_package_above_the_total_limit_is_refused(monkeypatch):
    monkeypatch.setattr(importers, "MAX_TOTAL_SIZE", 6000)
    parts = [(f"p{i}.bin", bytes(range(256)) * 8) for i in range(3)]
    assert _code(_with_sample(*parts)) == "scorm_too_large"


def test_a_member_that_unpacks_to_more_than_it_declares_is_refused():
    raw = _with_sample(("liar.txt", b"a" * 5000)).getvalue()
    # Declare 100 bytes (local header and central directory: the size is followed by the name's length, 8).
    patched = raw.replace((5000).to_bytes(4, "little") + b"\x08\x00", (100).to_bytes(4, "little") + b"\x08\x00")
    assert patched != raw
    with pytest.raises(DomainError) as caught:
        package_read(io.BytesIO(patched))
    assert caught.value.code in {"scorm_file_too_large", "scorm_not_a_zip"}


def test_a_missing_manifest_is_refused():
    assert _code(_zip([("index.html", b"<html></html>")])) == "scorm_manifest_missing"


def test_not_a_zip_is_refused():
    assert _code(io.BytesIO(b"this is no zip")) == "scorm_not_a_zip"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<manifest identifier="x"><organizations><organization identifier="o"><title>&lol3;</title></organization>
</organizations><resources/></manifest>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE manifest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<manifest identifier="x"><organizations><organization identifier="o"><title>&xxe;</title></organization>
</organizations><resources/></manifest>"""


@pytest.mark.parametrize(("xml", "code"), [
    (BILLION_LAUGHS, "scorm_manifest_unsafe"),
    (EXTERNAL_ENTITY, "scorm_manifest_unsafe"),
    (b"<manifest><organizations>", "scorm_manifest_invalid"),
    (b"<notamanifest/>", "scorm_manifest_invalid"),
    (b"<manifest identifier='x'><organizations/><resources/></manifest>", "scorm_manifest_invalid"),
])
def test_bad_or_malicious_manifests_are_refused(xml, code):
    with pytest.raises(DomainError) as caught:
        manifest_parse(xml, files={"index.html"})
    assert caught.value.code == code


def test_a_launch_file_outside_the_package_is_refused():
    xml = MANIFEST.format(identifier="x", title="t", launch="../outside.html", mastery="").encode()
    with pytest.raises(DomainError) as caught:
        manifest_parse(xml, files={"index.html"})
    assert caught.value.code == "scorm_launch_missing"


def test_a_launch_file_the_package_does_not_hold_is_refused():
    xml = MANIFEST.format(identifier="x", title="t", launch="missing.html", mastery="").encode()
    with pytest.raises(DomainError) as caught:
        manifest_parse(xml, files={"index.html"})
    assert caught.value.code == "scorm_launch_missing"


def test_a_scorm_2004_package_is_refused():
    xml = MANIFEST.format(identifier="x", title="t", launch="index.html", mastery="").replace(
        "<schemaversion>1.2</schemaversion>", "<schemaversion>2004 4th Edition</schemaversion>").encode()
    with pytest.raises(DomainError) as caught:
        manifest_parse(xml, files={"index.html"})
    assert caught.value.code == "scorm_version_unsupported"


def test_the_launch_keeps_the_manifest_query_and_base():
    xml = MANIFEST.format(identifier="x", title="t", launch="content/start.html?lang=zh", mastery="").encode()
    manifest = manifest_parse(xml, files={"content/start.html"})
    assert manifest.launch == "content/start.html?lang=zh"

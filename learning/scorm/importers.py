"""The SCORM 1.2 package format: a ZIP with `imsmanifest.xml` at its root, checked before anything is written.

Every member is checked before the first byte is stored: no absolute path, drive letter or `..` part, no symlink or
other special file (the Unix mode in the member's external attributes), no more than MAX_FILES files, no file above
MAX_FILE_SIZE and no more than MAX_TOTAL_SIZE in all (the sizes the ZIP declares, and again while reading, since the
declared sizes can lie), and no member whose declared compression ratio is above MAX_RATIO (a ZIP bomb). The
manifest is parsed with defusedxml, which refuses entity declarations (billion laughs), external entities and DTDs.
"""

import posixpath
import stat
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.utils.translation import gettext_lazy as _

from engage.core.errors import DomainError

MANIFEST = "imsmanifest.xml"
MAX_FILES = 2000
MAX_FILE_SIZE = 50 * 1024 * 1024
MAX_TOTAL_SIZE = 200 * 1024 * 1024
MAX_MANIFEST_SIZE = 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed; real course files (HTML, JS, images) stay far below
MAX_PATH_LENGTH = 400
CHUNK = 64 * 1024


@dataclass
class ScormManifest:
    identifier: str
    title: str
    version: str
    launch: str  # the launch file's path inside the package, with its query string if the manifest gives one
    mastery_score: Decimal | None = None
    files: list[str] = field(default_factory=list)


def _refuse(code: str, message, **details) -> DomainError:
    return DomainError(code, message, status=400, **details)


def member_path(info: zipfile.ZipInfo) -> str:
    """The member's safe relative path, or a DomainError: never absolute, never above the package root."""
    name = info.filename.replace("\\", "/")
    if (not name or name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name
            or len(name) > MAX_PATH_LENGTH):
        raise _refuse("scorm_unsafe_path", _("The package contains a file with an unsafe path: %(name)s")
                      % {"name": info.filename[:200]}, name=info.filename[:200])
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise _refuse("scorm_unsafe_path", _("The package contains a file with an unsafe path: %(name)s")
                      % {"name": info.filename[:200]}, name=info.filename[:200])
    return "/".join(parts)


def _is_special(info: zipfile.ZipInfo) -> bool:
    """A symlink, device, FIFO or socket: the Unix file type in the high bits of the external attributes."""
    mode = info.external_attr >> 16
    file_type = stat.S_IFMT(mode)
    return bool(mode) and file_type not in (0, stat.S_IFREG, stat.S_IFDIR)


def package_members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    """The files of the package with their safe paths, after every limit is checked on what the ZIP declares."""
    infos = archive.infolist()
    files = [info for info in infos if not info.is_dir()]
    if len(files) > MAX_FILES:
        raise _refuse("scorm_too_many_files", _("The package holds %(count)s files; at most %(limit)s are allowed.")
                      % {"count": len(files), "limit": MAX_FILES})
    members, total, seen = [], 0, set()
    for info in infos:
        path = member_path(info)
        if _is_special(info):
            raise _refuse("scorm_unsafe_file", _("The package contains a link or special file: %(name)s")
                          % {"name": path[:200]}, name=path[:200])
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise _refuse("scorm_encrypted", _("The package contains an encrypted file: %(name)s")
                          % {"name": path[:200]}, name=path[:200])
        if info.file_size > MAX_FILE_SIZE:
            raise _refuse("scorm_file_too_large", _("%(name)s is larger than the %(limit)s MB allowed per file.")
                          % {"name": path[:200], "limit": MAX_FILE_SIZE // (1024 * 1024)}, name=path[:200])
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _refuse("scorm_compression_ratio", _("%(name)s is compressed suspiciously well (a ZIP bomb?); "
                                                       "the package was refused.") % {"name": path[:200]},
                          name=path[:200])
        total += info.file_size
        if total > MAX_TOTAL_SIZE:
            raise _refuse("scorm_too_large", _("The package unpacks to more than the %(limit)s MB allowed.")
                          % {"limit": MAX_TOTAL_SIZE // (1024 * 1024)})
        if path.lower() in seen:
            raise _refuse("scorm_duplicate_file", _("The package contains %(name)s twice.") % {"name": path[:200]},
                          name=path[:200])
        seen.add(path.lower())
        members.append((info, path))
    return members


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, limit: int = MAX_FILE_SIZE) -> bytes:
    """The member's bytes, stopping as soon as more come out than it declared (a header that lies)."""
    chunks, size = [], 0
    with archive.open(info) as handle:
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            if size > min(info.file_size, limit):
                raise _refuse("scorm_file_too_large", _("%(name)s unpacks to more than it declares; the package was "
                                                        "refused.") % {"name": info.filename[:200]})
            chunks.append(chunk)
    return b"".join(chunks)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element, name: str):
    return [child for child in element if _local(child.tag) == name]


def _attr(element, name: str) -> str:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return ""


def manifest_parse(data: bytes, *, files: set[str]) -> ScormManifest:
    """The package's identifier, title, SCORM version and launch file, from `imsmanifest.xml`.

    The launch file is the `href` of the resource the default organization's first item refers to, and must be a
    file of the package. Refuses DTDs and entities, a manifest that is not SCORM 1.2 and a launch outside it.
    """
    if len(data) > MAX_MANIFEST_SIZE:
        raise _refuse("scorm_manifest_invalid", _("imsmanifest.xml is too large."))
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise _refuse("scorm_manifest_unsafe",
                      _("imsmanifest.xml declares a DTD or entities, which are not allowed.")) from None
    except Exception:  # ParseError and its relatives: not well-formed XML
        raise _refuse("scorm_manifest_invalid", _("imsmanifest.xml is not well-formed XML.")) from None
    if _local(root.tag) != "manifest":
        raise _refuse("scorm_manifest_invalid", _("imsmanifest.xml has no <manifest> root element."))
    version = ""
    for metadata in _children(root, "metadata"):
        for schema_version in _children(metadata, "schemaversion"):
            version = (schema_version.text or "").strip()
    if version and version != "1.2":
        raise _refuse("scorm_version_unsupported", _("This is a SCORM %(version)s package; only SCORM 1.2 is "
                                                     "supported.") % {"version": version[:20]})
    organizations = next(iter(_children(root, "organizations")), None)
    resources = next(iter(_children(root, "resources")), None)
    if organizations is None or resources is None:
        raise _refuse("scorm_manifest_invalid", _("imsmanifest.xml has no organizations or resources."))
    orgs = _children(organizations, "organization")
    default = organizations.get("default", "")
    organization = next((org for org in orgs if org.get("identifier") == default), orgs[0] if orgs else None)
    if organization is None:
        raise _refuse("scorm_manifest_invalid", _("imsmanifest.xml has no organization."))
    by_id = {res.get("identifier", ""): res for res in _children(resources, "resource")}
    item, resource = None, None
    pending = list(_children(organization, "item"))
    while pending and resource is None:
        candidate = pending.pop(0)
        ref = candidate.get("identifierref", "")
        if ref and ref in by_id:
            item, resource = candidate, by_id[ref]
        else:
            pending[:0] = _children(candidate, "item")
    if resource is None:
        raise _refuse("scorm_manifest_invalid", _("imsmanifest.xml names no launchable resource."))
    href = resource.get("href", "").strip()
    base = (_attr(resources, "base") + _attr(resource, "base")).strip()
    parameters = (item.get("parameters") or "").strip()
    launch_file = posixpath.normpath(posixpath.join(base, href.split("?", 1)[0])) if href else ""
    if not launch_file or launch_file.startswith(("/", "..")) or launch_file not in files:
        raise _refuse("scorm_launch_missing", _("The launch file named in imsmanifest.xml is not in the package."))
    query = href.split("?", 1)[1] if "?" in href else ""
    if parameters:
        query = f"{query}&{parameters.lstrip('?&')}" if query else parameters.lstrip("?&")
    mastery = None
    for element in item.iter():
        if _local(element.tag) == "masteryscore" and (element.text or "").strip():
            try:
                mastery = Decimal(element.text.strip())
            except InvalidOperation:
                raise _refuse("scorm_manifest_invalid",
                              _("The mastery score in imsmanifest.xml is not a number.")) from None
            if not Decimal(0) <= mastery <= Decimal(100):
                raise _refuse("scorm_manifest_invalid", _("The mastery score must be between 0 and 100."))
    title_el = next(iter(_children(organization, "title")), None)
    title = (title_el.text or "").strip() if title_el is not None else ""
    return ScormManifest(identifier=(root.get("identifier") or "")[:200], title=title[:200], version="1.2",
                         launch=f"{launch_file}?{query}" if query else launch_file, mastery_score=mastery)


def package_read(upload: BinaryIO) -> tuple[ScormManifest, list[tuple[str, bytes]]]:
    """Checks a SCORM 1.2 ZIP and returns its manifest and files (path, bytes); nothing is written here."""
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse("scorm_not_a_zip", _("The file is not a ZIP archive.")) from None
    with archive:
        members = package_members(archive)
        paths = {path for _info, path in members}
        manifest_info = next((info for info, path in members if path == MANIFEST), None)
        if manifest_info is None:
            raise _refuse("scorm_manifest_missing", _("The package has no imsmanifest.xml at its root."))
        manifest = manifest_parse(read_member(archive, manifest_info, limit=MAX_MANIFEST_SIZE), files=paths)
        total, files = 0, []
        for info, path in members:
            try:
                data = read_member(archive, info)
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError):
                raise _refuse("scorm_not_a_zip", _("%(name)s cannot be unpacked.") % {"name": path[:200]}) from None
            total += len(data)
            if total > MAX_TOTAL_SIZE:
                raise _refuse("scorm_too_large", _("The package unpacks to more than the %(limit)s MB allowed.")
                              % {"limit": MAX_TOTAL_SIZE // (1024 * 1024)})
            files.append((path, data))
    manifest.files = [path for path, _data in files]
    return manifest, files

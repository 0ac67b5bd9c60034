"""CGMES and UCTE network files, read through pandapower's converters after bounded checks.

Both come from other people, so the bytes are checked before a converter sees them:

- CGMES (`.zip` of XML profiles, or one `.xml`): at most `MAX_MEMBERS` members, each a plain
  `.xml`/`.rdf` name (a folder allowed, no `..`, no absolute path, no name twice), their sizes
  as unpacked at most `MAX_NETWORK_BYTES` together (counted while unpacking, not trusted from
  the zip's directory), and every profile XML without a DTD (no entities, so no XXE or
  billion laughs), parsed by lxml with entity resolution and network access off. The checked
  profiles are written to a private temporary folder and only those are handed to
  `pandapower.converter.from_cim`.
- UCTE-DEF (`.uct`): ASCII text, lines of at most 200 characters, only the record types of
  the format (`##C`, `##N`, `##Z..`, `##L`, `##T`, `##R`, `##TT`, `##E`) before
  `pandapower.converter.from_ucte` (slack nodes as ext_grid).

A problem raises `ConversionError` naming the member, line or record and the value.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pandapower as pp

__all__ = [
    "MAX_MEMBERS",
    "ConversionError",
    "check_xml",
    "from_cgmes",
    "from_ucte",
]

MAX_MEMBERS = 32  # a CGMES set has EQ, SSH, TP, SV, DL, GL and boundary profiles
MAX_UCTE_LINE = 200
# the central directory of MAX_MEMBERS entries: 46 bytes each plus a plain name and extras
MAX_DIRECTORY = MAX_MEMBERS * 1024
_END_SEARCH = 22 + 2**16  # the end record and the longest comment it may carry
_CHUNK = 2**20
_UCTE_RECORDS = ("##C", "##N", "##Z", "##L", "##T", "##R", "##TT", "##E")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_SAFE_MEMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()+-]*\Z")


class ConversionError(Exception):
    """A network file that is refused before or during conversion (message names the spot)."""


def _etree() -> Any:
    """lxml's etree (pandapower's CGMES converter needs lxml too)."""
    try:
        from lxml import etree
    except ImportError:
        raise ConversionError("reading CGMES needs the 'lxml' package (pip install lxml)") from None
    return etree


def _parser(etree: Any) -> Any:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def check_xml(data: bytes, where: str) -> None:
    """Refuse XML that is not well-formed or has a DTD (entities, external references)."""
    etree = _etree()
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ConversionError(f"{where}: has a DTD (<!DOCTYPE or <!ENTITY>); CGMES never needs one")
    try:
        root = etree.fromstring(data, _parser(etree))
    except etree.XMLSyntaxError as exc:
        raise ConversionError(f"{where}: not well-formed XML ({exc.msg!r})") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise ConversionError(f"{where}: has a DTD; CGMES never needs one")
    if not isinstance(root.tag, str) or not root.tag.endswith("}RDF"):
        raise ConversionError(f"{where}: the root element is {root.tag!r}, not rdf:RDF")


def _directory_bytes(path: Path) -> int:
    """The size of a zip's central directory, from its end record, read before `zipfile`
    reads the directory: `zipfile` makes an object of every entry in it (about 0.5 kB each,
    gigabytes for a 512 MiB zip of empty entries) before the entries can be counted. The
    search is `zipfile`'s own: the last end-record signature in the final 64 kB (0 without
    one: `zipfile` then refuses the file)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - _END_SEARCH))
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return 0  # not a zip: zipfile says so
    return int.from_bytes(tail[at + 12 : at + 16], "little")


def _members(path: Path, limit: int) -> list[tuple[str, bytes]]:
    """The checked members of a CGMES zip, read with the size bound enforced as they unpack."""
    directory = _directory_bytes(path)
    if directory > MAX_DIRECTORY:
        raise ConversionError(
            f"the zip's directory has {directory:,} bytes, more than {MAX_MEMBERS} profiles "
            f"with plain names take ({MAX_DIRECTORY:,})"
        )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConversionError(f"not a readable zip ({type(exc).__name__})") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_MEMBERS:
            raise ConversionError(f"{len(infos)} files in the zip, more than {MAX_MEMBERS}")
        seen: set[str] = set()
        found: list[tuple[str, bytes]] = []
        total = 0
        for info in infos:
            name = info.filename
            parts = PurePosixPath(name).parts
            if (
                name.startswith("/")
                or "\\" in name
                or ".." in parts
                or len(parts) > 2
                or not all(_SAFE_MEMBER.match(p) for p in parts)
                or PurePosixPath(name).suffix.lower() not in (".xml", ".rdf")
            ):
                raise ConversionError(
                    f"zip member {name!r} is refused: only .xml/.rdf profiles with plain names"
                )
            base = parts[-1].lower()
            if base in seen:
                raise ConversionError(f"zip member {name!r}: a profile of that name twice")
            seen.add(base)
            chunks: list[bytes] = []
            try:
                with archive.open(info) as stream:
                    while chunk := stream.read(_CHUNK):
                        total += len(chunk)
                        if total > limit:
                            raise ConversionError(
                                f"the zip unpacks to more than {limit:,} bytes; refused"
                            )
                        chunks.append(chunk)
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
                raise ConversionError(
                    f"zip member {name!r} cannot be read ({type(exc).__name__})"
                ) from None
            found.append((parts[-1], b"".join(chunks)))
        if not found:
            raise ConversionError("the zip holds no .xml/.rdf profile")
        return found


def from_cgmes(path: Path, limit: int) -> pp.pandapowerNet:
    """A CGMES 2.4.15 network from a zip of profiles or one XML file, checked first."""
    if path.suffix.lower() == ".zip":
        members = _members(path, limit)
    else:
        members = [(path.name, path.read_bytes())]
    for name, data in members:
        check_xml(data, f"profile {name!r}")
    from pandapower.converter.cim.cim2pp.from_cim import from_cim

    with tempfile.TemporaryDirectory(prefix="planner-cgmes-") as folder:
        files = []
        for number, (name, data) in enumerate(members):
            target = Path(folder) / f"{number:02d}{PurePosixPath(name).suffix.lower()}"
            target.write_bytes(data)
            files.append(str(target))
        net = from_cim(file_list=files, cgmes_version="2.4.15")
    _drop_cim_extras(net)
    return net


def _drop_cim_extras(net: pp.pandapowerNet) -> None:
    """Keep only what the network is: the converter's report of its run is not."""
    if "report_container" in net:
        del net["report_container"]


def check_ucte(text_bytes: bytes) -> None:
    """Refuse a UCTE file that is not ASCII text of the format's record types."""
    try:
        text = text_bytes.decode("ascii")
    except UnicodeDecodeError as exc:
        row = text_bytes[: exc.start].count(b"\n") + 1
        raise ConversionError(
            f"line {row}: byte {text_bytes[exc.start : exc.start + 1]!r} is not ASCII "
            "(UCTE-DEF files are ASCII)"
        ) from None
    current = ""
    # lines as pandapower's reader sees them (open() in text mode: universal newlines);
    # str.splitlines would also end a line at \x0b, \x0c and \x1c-\x1e, which that reader
    # keeps inside the line, and in the names
    for number, line in enumerate(_NEWLINE.split(text), start=1):
        if len(line) > MAX_UCTE_LINE:
            raise ConversionError(
                f"line {number}: {len(line)} characters, more than {MAX_UCTE_LINE}"
            )
        if any(ord(c) < 32 and c != "\t" for c in line) or "\x7f" in line:
            raise ConversionError(f"line {number}: control character in {line[:40]!r}")
        if line.startswith("##"):
            record = line.split()[0] if line.split() else line
            if not record.startswith(_UCTE_RECORDS):
                raise ConversionError(f"line {number}: unknown UCTE record {record[:12]!r}")
            current = record
        elif line.strip() and not current:
            raise ConversionError(f"line {number}: data before the first ## record")
    if "##N" not in text:
        raise ConversionError("no ##N (nodes) record: not a UCTE-DEF network")


def from_ucte(path: Path) -> pp.pandapowerNet:
    """A UCTE-DEF network (slack nodes as ext_grid), its text checked first."""
    check_ucte(path.read_bytes())
    from pandapower.converter.ucte.from_ucte import from_ucte as convert

    return convert(str(path), slack_as_gen=False)

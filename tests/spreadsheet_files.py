"""Workbooks built by hand for the import bounds tests: the smallest package an importer accepts, with the
sheet's XML streamed in (so a 400 MB sheet is written chunk by chunk and never sits in the test's memory),
and the tricks played on the archive afterwards (a lying size, a wrong CRC)."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
ML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = (  # what openpyxl needs to find the parts, so the same files can be tried on it
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{ML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ML}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ML}.sharedStrings+xml"/></Types>'
)
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" '
    f'Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>'
    '<sheet name="ROI entries" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" '
    f'Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
    f'Type="{DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
SHEET_HEAD = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'.encode()
SHEET_TAIL = b"</sheetData></worksheet>"
SHEET = "xl/worksheets/sheet1.xml"
# "billion laughs": ten entities, each ten of the one before; expanded, lol9 is 10^9 "lol"s.
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + f']><worksheet xmlns="{MAIN}"><sheetData><row r="1"><c t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    "</sheetData></worksheet>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c t="inlineStr"><is><t>&x;</t></is></c></row>'
    "</sheetData></worksheet>"
)


def cell(value, ref: str = "") -> str:
    r = f' r="{ref}"' if ref else ""
    if isinstance(value, int | float):
        return f"<c{r}><v>{value}</v></c>"
    return f'<c{r} t="inlineStr"><is><t>{value}</t></is></c>'


def row(values: Iterable, number: int | None = None) -> bytes:
    r = f' r="{number}"' if number is not None else ""
    return f"<row{r}>{''.join(cell(v) for v in values)}</row>".encode()


def build(
    path: Path,
    sheet: Iterable[bytes],
    *,
    strings: Iterable[bytes] = (),
    parts: dict[str, str | bytes] | None = None,
    skip: frozenset[str] = frozenset(),
    method: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """A workbook at `path` whose first sheet's XML is the concatenated `sheet` chunks (streamed into the
    archive), with optional shared strings, extra or replaced parts, and parts left out (`skip`)."""
    fixed = {
        "[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": ROOT_RELS, "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS, **(parts or {}),
    }  # fmt: skip
    with zipfile.ZipFile(path, "w", compression=method, compresslevel=9 if method else None) as archive:
        for name, text in fixed.items():
            if name not in skip:
                archive.writestr(name, text)
        if SHEET not in fixed:
            with archive.open(SHEET, "w") as out:
                for chunk in sheet:
                    out.write(chunk)
        with archive.open("xl/sharedStrings.xml", "w") as out:
            out.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode())
            for chunk in strings:
                out.write(chunk)
            out.write(b"</sst>")
    return path


def sheet_of(*rows: bytes) -> list[bytes]:
    return [SHEET_HEAD, *rows, SHEET_TAIL]


def repeated(chunk: bytes, total: int) -> Iterable[bytes]:
    """`chunk` repeated until about `total` bytes, yielded a megabyte at a time."""
    block = chunk * max(1, (1024 * 1024) // len(chunk))
    for _ in range(max(1, total // len(block))):
        yield block


def declare_size(path: Path, member: str, size: int) -> None:
    """Make the archive lie: `member`'s uncompressed size, in its local header and in the central
    directory, becomes `size` (the bytes and the CRC stay what they are)."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := data.find(signature, at)) != -1:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                struct.pack_into("<I", data, at + offset, size)
            at += 4
    path.write_bytes(bytes(data))

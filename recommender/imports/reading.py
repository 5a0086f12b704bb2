"""From a file to CSV rows: size limit, binary sniffing, text decoding, delimiter-agnostic rows."""

from __future__ import annotations

import codecs
import csv
import io
import os
from typing import IO

from recommender.imports.report import RatingsImportError

MAX_IMPORT_BYTES = 5 * 1024 * 1024
_MAGIC = (  # (leading bytes, what the file is, what to do)
    (b"PK\x03\x04", "a ZIP archive", "unzip it and upload the CSV file inside"),
    (b"PK\x05\x06", "an empty ZIP archive", "upload the CSV file itself"),
    (b"\x1f\x8b", "a gzip archive", "decompress it and upload the CSV file"),
    (b"%PDF", "a PDF document", "upload the CSV export instead"),
    (b"\xd0\xcf\x11\xe0", "an old Office document", "save it as CSV (UTF-8)"),
    (b"SQLite format 3\x00", "an SQLite database", "upload a CSV export instead"),
    (b"\x89PNG", "a PNG image", "upload the CSV export instead"),
    (b"\xff\xd8\xff", "a JPEG image", "upload the CSV export instead"),
    (b"GIF8", "a GIF image", "upload the CSV export instead"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it and upload the CSV file inside"),
    (b"Rar!", "a RAR archive", "extract it and upload the CSV file inside"),
    (b"BZh", "a bzip2 archive", "decompress it and upload the CSV file"),
    (b"\xfd7zXZ\x00", "an xz archive", "decompress it and upload the CSV file"),
)
# Control characters other than tab and line breaks (C0, DEL, C1), for str.translate.
CONTROLS = dict.fromkeys(c for c in [*range(32), *range(127, 160)] if chr(c) not in "\t\n\r")

FileSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]


def read_source(file: FileSource) -> bytes:
    """The file's bytes (a path, bytes or a binary file-like), refused over the size limit."""
    if isinstance(file, bytes | bytearray | memoryview):
        data = bytes(file)
    elif isinstance(file, str | os.PathLike):
        try:
            size = os.stat(file).st_size
            if size > MAX_IMPORT_BYTES:
                raise RatingsImportError(_too_big(size))
            with open(file, "rb") as handle:
                data = handle.read(MAX_IMPORT_BYTES + 1)
        except OSError as error:
            raise RatingsImportError(f"Cannot read {os.fspath(file)}: {error.strerror}") \
                from error
    elif hasattr(file, "read"):
        if getattr(file, "seekable", lambda: False)():
            file.seek(0)  # an uploaded file may have been read before
        data = file.read(MAX_IMPORT_BYTES + 1)
        if isinstance(data, str):  # a text stream: fine, it is text already
            data = data.encode("utf-8")
        data = bytes(data)
        if len(data) > MAX_IMPORT_BYTES:
            size = getattr(file, "size", None)
            raise RatingsImportError(_too_big(size if isinstance(size, int) else None))
    else:
        raise TypeError(f"import_ratings needs a path, bytes or a binary file, not {type(file)}")
    if len(data) > MAX_IMPORT_BYTES:
        raise RatingsImportError(_too_big(len(data)))
    return data


def _too_big(size: int | None) -> str:
    shown = f"{size / 1024 / 1024:.1f} MB" if size else f"over {MAX_IMPORT_BYTES // 2**20} MB"
    return (
        f"The file is {shown}; the limit is {MAX_IMPORT_BYTES // 2**20} MB. Rating exports "
        "are far smaller: check that this is the ratings file."
    )


def refuse_binary(raw: bytes) -> None:
    """Raise a helpful RatingsImportError for archives, documents, images and binary data."""
    for magic, what, advice in _MAGIC:
        if raw.startswith(magic):
            if magic == b"PK\x03\x04" and b"xl/" in raw[:4096]:
                what, advice = "an Excel workbook", "save it as CSV (UTF-8) and upload that"
            raise RatingsImportError(f"This is {what}, not a CSV file: {advice}.")
    if b"\x00" in raw and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RatingsImportError(
            "This is not a CSV text file (it contains binary data). If it is UTF-16 text, "
            "save it as CSV UTF-8."
        )


def decode(raw: bytes) -> tuple[str, str]:
    """Text and the encoding used: UTF-16 (with BOM), UTF-8 (BOM or not), else Windows-1252,
    else Latin-1. Latin-1 decodes any bytes, so the text is then checked for control
    characters, which no ratings file has but binary data is full of."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, encoding = raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise RatingsImportError(
                "The file starts like UTF-16 text but is not valid UTF-16; save it as CSV UTF-8."
            ) from None
    else:
        try:
            text, encoding = raw.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = raw.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                text, encoding = raw.decode("latin-1"), "latin-1"
    text = text.lstrip("\ufeff")
    controls = len(text) - len(text.translate(CONTROLS))
    if controls > max(2, len(text) // 100):
        raise RatingsImportError(
            "The file is not readable text (not UTF-8, Windows-1252 or Latin-1; it looks like "
            "binary data). Upload the CSV export itself, saved as CSV UTF-8."
        )
    return text, encoding


def first_record(text: str, delimiter: str) -> list[str]:
    """The first non-blank row (the header) split on ``delimiter``; [] if it is not CSV."""
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if any(cell.strip() for cell in row):
                return row
    except csv.Error:
        return []
    return []


def csv_rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank data row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    header_seen = False
    try:
        start = 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if not header_seen:
                header_seen = True
                continue
            records.append((line, row))
    except csv.Error as error:
        raise RatingsImportError(f"Malformed CSV at line {reader.line_num}: {error}.") from None
    return records

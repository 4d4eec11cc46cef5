"""Arrow IPC stream framing for ``.lmr``: encode record-batch messages, scan a possibly cut stream.

An IPC stream is a schema message, then record-batch messages, then an end-of-stream marker
(0xFFFFFFFF followed by a zero int32). Each encapsulated message is a 0xFFFFFFFF continuation
word, an int32 metadata length, the flatbuffer metadata and the body; every message is padded to
a multiple of 8 bytes (Apache Arrow Columnar Format specification, "Encapsulated message format"
and "IPC Streaming Format"). Because there is no footer, any prefix that ends on a message
boundary is itself a valid stream: that is what makes the format crash-safe.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import pyarrow as pa
import pyarrow.ipc as ipc

from ..errors import FormatError

__all__ = ["EOS", "ScanResult", "encode_batch", "scan_stream", "write_options"]

log = logging.getLogger(__name__)

#: End-of-stream marker: continuation word, then a metadata length of zero.
EOS = b"\xff\xff\xff\xff\x00\x00\x00\x00"
_CONTINUATION = b"\xff\xff\xff\xff"
_ARROW_FILE_MAGIC = b"ARROW1"


def write_options(level: int | None) -> ipc.IpcWriteOptions:
    """IPC options: zstd-compressed buffers (RFC 8878, Collet & Kucherawy 2021) at ``level``."""
    codec = pa.Codec("zstd") if level is None else pa.Codec("zstd", compression_level=level)
    return ipc.IpcWriteOptions(compression=codec)


def encode_batch(batch: pa.RecordBatch, options: ipc.IpcWriteOptions) -> bytes:
    """The encapsulated IPC message of one record batch (no schema, no end-of-stream marker)."""
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, batch.schema, options=options) as w:
        head = sink.tell()  # pyarrow writes the schema lazily, with the first batch
        w.write_batch(batch)
        end = sink.tell()
    data = sink.getvalue()
    schema_len = len(batch.schema.serialize())
    if head != 0 or data.size != end + len(EOS):
        raise RuntimeError("unexpected Arrow IPC stream layout")  # pragma: no cover - pyarrow contract
    return data.to_pybytes()[schema_len:end]


@dataclasses.dataclass
class ScanResult:
    """What a scan of a ``.lmr`` byte stream found.

    Attributes
    ----------
    schema : pa.Schema
        The stream's schema (its metadata is the header).
    schema_bytes : int
        Length of the schema message in bytes.
    batches : list of pa.RecordBatch
        Every record batch that decoded, in file order.
    good_end : int
        Offset just past the last complete message: a writer that continues the stream
        truncates the file here.
    closed : bool
        True when the end-of-stream marker follows the last message and ends the file.
    dropped_bytes : int
        Bytes after ``good_end`` that are not a clean end-of-stream marker (a cut message, a
        zero-filled tail, ...). Zero for a clean close and for a stream cut on a boundary.
    bad_batches : int
        Complete messages whose body could not be decoded; skipped.
    """

    schema: pa.Schema
    schema_bytes: int
    batches: list[pa.RecordBatch]
    good_end: int
    closed: bool
    dropped_bytes: int
    bad_batches: int = 0

    @property
    def truncated(self) -> bool:
        return not self.closed


def _header_error(path: str | os.PathLike[str] | None, data: bytes, exc: Exception) -> FormatError:
    if data.startswith(_ARROW_FILE_MAGIC):
        return FormatError(path, "this is an Arrow IPC *file*; a .lmr recording is an Arrow IPC stream")
    if not data.startswith(_CONTINUATION):
        return FormatError(path, "not an lmdetect recording (no Arrow IPC stream header)", offset=0)
    if len(data) >= 8:
        declared = int.from_bytes(data[4:8], "little", signed=True)
        if 0 < declared and len(data) < 8 + declared:
            return FormatError(
                path,
                f"file ends inside the header ({len(data)} of {8 + declared} bytes): "
                "no samples were recorded",
            )
    return FormatError(path, f"unreadable header: {exc}", offset=0)


def scan_stream(path: str | os.PathLike[str] | None, data: bytes, *, decode: bool = True) -> ScanResult:
    """Read every complete message of an IPC stream held in ``data``.

    A cut or corrupt tail never raises: the scan stops at the last complete message and reports
    the bytes it dropped. Only an unusable header raises.

    Parameters
    ----------
    path
        Used in error messages only.
    data
        The whole file.
    decode
        Decode record batches (False: only find the message boundaries).

    Raises
    ------
    FormatError
        An empty file, not an Arrow IPC stream, or a file that ends inside its schema message.
    """
    if not data:
        raise FormatError(path, "empty file: no header was written")
    buf = pa.py_buffer(data)
    src = pa.BufferReader(buf)
    reader = ipc.MessageReader.open_stream(src)
    try:
        first = reader.read_next_message()
        if first.type != "schema":
            raise ValueError(f"first message is a {first.type}, not a schema")
        schema = ipc.read_schema(first)
    except (StopIteration, ValueError, OSError, pa.ArrowException) as exc:
        raise _header_error(path, data, exc) from None
    schema_end = src.tell()
    good_end = schema_end
    batches: list[pa.RecordBatch] = []
    bad = 0
    stop_reason = ""
    while True:
        try:
            msg = reader.read_next_message()
        except StopIteration:
            break
        except (OSError, pa.ArrowException) as exc:  # a message cut short or garbage framing
            stop_reason = str(exc)
            break
        if msg.type != "record batch":
            stop_reason = f"unexpected {msg.type} message"
            break
        pos = src.tell()
        if decode:
            try:
                batches.append(ipc.read_record_batch(msg, schema))
            except (OSError, pa.ArrowException) as exc:
                bad += 1
                log.warning(
                    "%s: skipped a record batch that does not decode (byte %d): %s", path, good_end, exc
                )
        good_end = pos
    tail = data[good_end:]
    closed = tail == EOS
    dropped = 0 if closed else len(tail)
    if tail.startswith(EOS) and len(tail) > len(EOS):
        # bytes after a clean end-of-stream marker: not ours to interpret
        closed = True
        dropped = len(tail) - len(EOS)
        log.warning("%s: ignored %d bytes after the end-of-stream marker", path, dropped)
    elif stop_reason and dropped:
        log.debug("%s: stream stops at byte %d: %s", path, good_end, stop_reason)
    return ScanResult(
        schema=schema,
        schema_bytes=schema_end,
        batches=batches,
        good_end=good_end,
        closed=closed,
        dropped_bytes=dropped,
        bad_batches=bad,
    )

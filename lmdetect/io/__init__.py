"""Reading and writing recordings and event files. One module per format, behind a registry."""

from ._registry import (
    format_for_path,
    read_recording,
    register_reader,
    register_writer,
    supported_read_extensions,
    supported_write_extensions,
    unavailable_formats,
    write_recording,
)

__all__ = [
    "format_for_path",
    "read_recording",
    "register_reader",
    "register_writer",
    "supported_read_extensions",
    "supported_write_extensions",
    "unavailable_formats",
    "write_recording",
]

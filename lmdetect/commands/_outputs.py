"""One convention for every command's outputs: an existing file, or a folder that is not empty,
is never replaced unless ``--force`` is given. Checked before any work, so a refused run costs
nothing and changes nothing; an output that cannot be written at all (a read-only or
non-writable folder, a file where a folder of the path should be) is refused at the same point
rather than after the recording was processed.
"""

from __future__ import annotations

import argparse

from .._outputs import check_output_file, check_output_folder

__all__ = ["add_force", "check_output_folder", "check_output_file"]

FORCE_HELP_FOLDER = "replace the contents of an existing, non-empty output folder (refused without it)"
FORCE_HELP_FILE = "replace an existing output file (refused without it)"


def add_force(parser: argparse.ArgumentParser, *, folder: bool = True) -> None:
    """Add ``-f/--force`` with the help text of the convention."""
    parser.add_argument("-f", "--force", action="store_true", help=FORCE_HELP_FOLDER if folder else FORCE_HELP_FILE)

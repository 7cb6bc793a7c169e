"""What is wrong with an input path that cannot be read as a file, in words.

A path that exists but is a FIFO, a device, a folder or a link to one is *not* missing, and a
link whose target is gone is not missing either: the message says which, so that the user
fixes the right thing. Opening a FIFO would also block forever: callers check first.
Only the standard library is imported.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["file_problem", "is_regular_file"]

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def is_regular_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is (or links to) a regular file."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def file_problem(path: str | os.PathLike) -> str | None:
    """``None`` for a regular file (or a link to one), else what is wrong with ``path``.

    Returns
    -------
    str or None
        ``"does not exist"``, ``"is a dangling link (to <target>)"`` or ``"is not a regular
        file (<what it is>)"``, to follow the path in a message.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if path.is_symlink():
            return f"is a dangling link (to {os.readlink(path)}, a target that is gone)"
        return "does not exist"
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    if stat.S_ISREG(info.st_mode):
        return None
    what = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
    if path.is_symlink():
        what = f"a link to {os.path.realpath(path)}, {what}"
    return f"is not a regular file ({what})"

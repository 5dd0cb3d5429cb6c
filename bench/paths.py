"""File names made from run contents (protocols, data set labels, suite names), kept
inside the folder they are written to.

Anything that becomes part of a path goes through :func:`slug`: letters, digits, ``.``,
``_`` and ``-`` only, no leading dot, and at most :data:`MAX_NAME` characters (a longer
name keeps its start and gains a hash of the whole, so distinct names stay distinct).
:func:`confined` joins a slug to a folder and checks the result stays inside it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

__all__ = ["MAX_NAME", "PathEscapeError", "confined", "slug"]

#: the longest file name a slug gives (well under the 255 bytes of common file systems)
MAX_NAME = 120

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class PathEscapeError(ValueError):
    """A path built from run contents would leave the folder it belongs in."""


def slug(text: str, max_len: int = MAX_NAME) -> str:
    """``text`` as one safe file-name component.

    >>> slug("unsupervised_roc")
    'unsupervised_roc'
    >>> slug("../../etc/passwd")
    'etc-passwd'
    >>> slug("odds/breastw(k=[1, 2])")
    'odds-breastw-k-1-2'
    """
    name = _UNSAFE.sub("-", text).strip("-.")
    name = re.sub(r"-{2,}", "-", name).replace("..", ".") or "unnamed"
    if len(name) > max_len:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        name = f"{name[: max_len - 11]}-{digest}"
    return name


def confined(folder: Path, name: str, suffix: str = "") -> Path:
    """``folder / (slug(name) + suffix)``, checked to lie inside ``folder``.

    Raises
    ------
    PathEscapeError
        The resolved path is outside ``folder`` (e.g. through a symbolic link).
    """
    path = folder / f"{slug(name)}{suffix}"
    root = folder.resolve()
    if not path.resolve().is_relative_to(root):
        raise PathEscapeError(f"refusing to write {path}: it resolves outside {root}")
    return path

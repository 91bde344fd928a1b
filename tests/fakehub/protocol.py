"""Wire formats of the Hub API: requests, responses, ndjson commit payloads, byte ranges, README metadata."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import yaml

from . import gitobj
from .store import HubError, Operation

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Request:
    """A parsed HTTP request: raw path split into decoded segments, query, headers and body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @property
    def segments(self) -> list[str]:
        return [unquote(s) for s in self.path.strip("/").split("/")]

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError as err:
            raise HubError(400, f"Invalid JSON body: {err}") from err
        if not isinstance(data, dict):
            raise HubError(400, "The JSON body must be an object")
        return data


@dataclass
class Response:
    """An HTTP response; `body` is sent for GET, only its length for HEAD."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


class DropConnection(Exception):
    """Raised to make the HTTP layer close the connection without answering."""


@dataclass(frozen=True)
class RequestRecord:
    """One served request, for tests to inspect."""

    method: str
    path: str
    status: int


def parse_commit_payload(body: bytes) -> tuple[dict[str, Any], list[Operation]]:
    """Validate every line of an ndjson commit payload; any bad line rejects the whole commit."""
    try:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
    except ValueError as err:
        raise HubError(400, f"Invalid ndjson commit payload: {err}") from err
    if not lines or lines[0].get("key") != "header" or not isinstance(lines[0].get("value"), dict):
        raise HubError(400, "The commit payload must start with a header line")
    ops = [_parse_operation(line.get("key"), line.get("value") or {}) for line in lines[1:]]
    return lines[0]["value"], ops


def _parse_operation(key: Any, value: dict[str, Any]) -> Operation:
    path = _valid_path(str(value.get("path", "")).rstrip("/") if key == "deletedFolder" else value.get("path"))
    if key == "file":
        try:
            content = (
                base64.b64decode(value.get("content", ""), validate=True)
                if value.get("encoding") == "base64"
                else str(value.get("content", "")).encode()
            )
        except (binascii.Error, ValueError) as err:
            raise HubError(400, f"Invalid base64 content for '{path}'") from err
        if len(content) > gitobj.MAX_REGULAR_SIZE or gitobj.looks_binary(content):
            raise HubError(400, f"'{path}' is binary or larger than 10 MiB: it must be uploaded with LFS")
        return Operation("file", path, content=content)
    if key == "lfsFile":
        oid, size = value.get("oid"), value.get("size") or 0
        if value.get("algo", "sha256") != "sha256" or not (isinstance(oid, str) and SHA256_RE.match(oid)):
            raise HubError(400, f"Invalid LFS oid for '{path}'")
        return Operation("lfsFile", path, sha256=oid, size=int(size))
    if key in ("deletedFile", "deletedFolder"):
        return Operation(key, path)
    raise HubError(400, f"Unknown commit operation {key!r}")


def _valid_path(path: Any) -> str:
    parts = path.split("/") if isinstance(path, str) else [""]
    if any(part in ("", ".", "..", ".git") for part in parts):
        raise HubError(400, f"Invalid path in repo: {path!r}")
    return path


def parse_range(header: str | None, size: int) -> tuple[int, int] | tuple[()] | None:
    """Parse a single `bytes=` range: `None` means whole file, `()` unsatisfiable, else (first, last) inclusive."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start = max(size - int(last), 0)
        return (start, size - 1) if int(last) > 0 and size > 0 else ()
    end = min(int(last), size - 1) if last else size - 1
    return (int(first), end) if int(first) < size and int(first) <= end else ()


def front_matter(readme: str, strict: bool = False) -> dict[str, Any]:
    """Return the YAML metadata block of a README; with `strict`, raise ValueError if it is invalid."""
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", readme, flags=re.DOTALL)
    if match is None:
        return {}
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as err:
        if strict:
            raise ValueError(f"Invalid YAML in README.md metadata: {err}") from err
        return {}
    if data is not None and not isinstance(data, dict):
        if strict:
            raise ValueError("README.md metadata must be a YAML mapping")
        return {}
    return data or {}

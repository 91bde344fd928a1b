"""Git object hashing and LFS helpers, computed the way git and the Hub do."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Mapping

LFS_POINTER_TEMPLATE = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"
MAX_REGULAR_SIZE = 10 * 1024 * 1024  # the Hub refuses non-LFS files above 10 MiB

_LFS_PATTERNS = """
    *.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.mlmodel *.model *.msgpack *.npy *.npz *.onnx
    *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors saved_model/**/* *.tar.* *.tar *.tflite *.tgz
    *.wasm *.xz *.zip *.zst *tfevents* *.jpg *.jpeg *.png *.webp *.gif *.mp3 *.wav *.flac *.mp4
"""
# The `.gitattributes` of the Hub's "initial commit"
DEFAULT_GITATTRIBUTES = "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in _LFS_PATTERNS.split())


def git_object_sha(kind: str, data: bytes) -> str:
    """Return the git SHA-1 of an object of `kind` (blob, tree, commit) with `data` as body."""
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """Return the git-lfs pointer file stored in git in place of an LFS object."""
    return LFS_POINTER_TEMPLATE.format(oid=sha256, size=size).encode()


def tree_shas(files: Mapping[str, str]) -> dict[str, str]:
    """Hash the git trees of a repo given `{path: blob_sha}`; returns `{folder: tree_sha}` ("" is the root)."""
    children: dict[str, dict[str, tuple[bool, str]]] = {"": {}}
    for path in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder, parent = "/".join(parts[:depth]), "/".join(parts[: depth - 1])
            children.setdefault(folder, {})
            children[parent][parts[depth - 1]] = (True, folder)
        children["/".join(parts[:-1])][parts[-1]] = (False, path)

    shas: dict[str, str] = {}

    def _hash(folder: str) -> str:
        entries = []
        for name, (is_dir, full) in children[folder].items():
            sha = _hash(full) if is_dir else files[full]
            entries.append((name + "/" if is_dir else name, b"40000" if is_dir else b"100644", name, sha))
        body = b"".join(
            mode + b" " + name.encode() + b"\0" + bytes.fromhex(sha) for _, mode, name, sha in sorted(entries)
        )
        shas[folder] = git_object_sha("tree", body)
        return shas[folder]

    _hash("")
    return shas


def commit_sha(tree: str, parent: str | None, author: str, timestamp: int, message: str) -> str:
    """Return the git SHA-1 of a commit object."""
    ident = f"{author} <{author}@users.noreply.huggingface.co> {timestamp} +0000"
    header = f"tree {tree}\n" + (f"parent {parent}\n" if parent else "") + f"author {ident}\ncommitter {ident}\n"
    return git_object_sha("commit", f"{header}\n{message}\n".encode())


def lfs_patterns(gitattributes: str) -> list[str]:
    """Return the path patterns a .gitattributes file routes to LFS."""
    patterns = []
    for line in gitattributes.splitlines():
        fields = line.split()
        if len(fields) >= 2 and not fields[0].startswith("#") and "filter=lfs" in fields[1:]:
            patterns.append(fields[0])
    return patterns


def matches_lfs(path: str, patterns: list[str]) -> bool:
    """Whether `path` matches a .gitattributes pattern (patterns without '/' match the basename)."""
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(path if "/" in p else name, p) for p in patterns)


def looks_binary(sample: bytes) -> bool:
    """Git's heuristic: content with a NUL byte in its first bytes is binary."""
    return b"\0" in sample[:8000]

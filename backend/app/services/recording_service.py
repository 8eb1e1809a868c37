"""Interview recordings: a multipart upload streamed to DATA_DIR/recordings/<interview_id>/.

The body is parsed as it arrives (python-multipart's push parser) and written in chunks, so
memory stays flat whatever the size; the size limit is checked against Content-Length up
front and enforced again while streaming, and a refused or broken upload leaves no file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.concurrency import run_in_threadpool

from app.models import Interview, InterviewStatus, Recording
from app.services.errors import (
    ConflictError,
    PayloadTooLargeError,
    UnprocessableError,
    UnsupportedMediaTypeError,
)

FIELD = "file"
# What browsers' MediaRecorder produces: WebM (Chrome, Firefox) and MP4 (Safari).
ACCEPTED_TYPES: Mapping[str, str] = {
    "video/webm": ".webm",
    "audio/webm": ".webm",
    "video/mp4": ".mp4",
    "audio/mp4": ".mp4",
}
# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_SLACK = 64 * 1024


@dataclass(frozen=True)
class StoredFile:
    path: Path
    bytes: int
    content_type: str


def _too_large(limit_bytes: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"Recording is larger than the {limit_bytes // (1024 * 1024)} MB limit"
    )


class _FilePartReader:
    """Callbacks for the push parser: remembers the `file` part's bytes until written."""

    def __init__(self) -> None:
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.part_type = b""
        self.in_file = False
        self.seen_file = False
        self.content_type: str | None = None
        self.pending: list[bytes] = []

    def on_part_begin(self) -> None:
        self.disposition = b""
        self.part_type = b""
        self.in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self.header_name.lower()
        if name == b"content-disposition":
            self.disposition = self.header_value
        elif name == b"content-type":
            self.part_type = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if options.get(b"name") == FIELD.encode() and not self.seen_file:
            self.in_file = self.seen_file = True  # later parts named `file` are ignored
            main_type, _ = parse_options_header(self.part_type)
            self.content_type = main_type.decode("latin-1").lower()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.pending.append(data[start:end])

    def on_part_end(self) -> None:
        self.in_file = False

    def take(self) -> bytes:
        data = b"".join(self.pending)
        self.pending.clear()
        return data


async def stream_upload(
    headers: Mapping[str, str],
    body: AsyncIterator[bytes],
    directory: Path,
    limit_bytes: int,
) -> StoredFile:
    """Parse a multipart body with a `file` part and write that part under `directory`.

    Raises PayloadTooLargeError above `limit_bytes` (as soon as it is known),
    UnsupportedMediaTypeError for a file that is not WebM/MP4 video or audio, and
    UnprocessableError for a body that is not multipart or has no (or an empty) file.
    """
    content_type, params = parse_options_header(headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise UnprocessableError("file: send the recording as multipart/form-data")
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit_bytes + MULTIPART_SLACK:
        raise _too_large(limit_bytes)

    reader = _FilePartReader()
    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": reader.on_part_begin,
            "on_header_field": reader.on_header_field,
            "on_header_value": reader.on_header_value,
            "on_header_end": reader.on_header_end,
            "on_headers_finished": reader.on_headers_finished,
            "on_part_data": reader.on_part_data,
            "on_part_end": reader.on_part_end,
        },
    )
    partial = directory / f"{uuid.uuid4().hex}.part"
    out: BinaryIO | None = None
    received = written = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if received > limit_bytes + MULTIPART_SLACK:
                raise _too_large(limit_bytes)
            try:
                parser.write(chunk)
            except MultipartParseError as exc:
                raise UnprocessableError("file: malformed multipart body") from exc
            if reader.content_type is not None and reader.content_type not in ACCEPTED_TYPES:
                raise UnsupportedMediaTypeError(
                    f"file: {reader.content_type or 'no type'} is not accepted; "
                    f"send one of {', '.join(ACCEPTED_TYPES)}"
                )
            data = reader.take()
            if not data:
                continue
            written += len(data)
            if written > limit_bytes:
                raise _too_large(limit_bytes)
            if out is None:
                out = await run_in_threadpool(_open_for_write, partial)
            await run_in_threadpool(out.write, data)
        try:
            parser.finalize()
        except MultipartParseError as exc:
            raise UnprocessableError("file: malformed multipart body") from exc
        if not reader.seen_file:
            raise UnprocessableError("file: Field required")
        if out is None:
            raise UnprocessableError("file: the recording is empty")
        await run_in_threadpool(out.close)
        assert reader.content_type is not None
        final = partial.with_suffix(ACCEPTED_TYPES[reader.content_type])
        await run_in_threadpool(partial.rename, final)
    except BaseException:  # also cancellation and client disconnects: never keep a partial file
        if out is not None:
            out.close()
        partial.unlink(missing_ok=True)
        raise
    return StoredFile(path=final, bytes=written, content_type=reader.content_type)


def _open_for_write(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("xb")


async def save_recording(
    session: AsyncSession,
    interview: Interview,
    headers: Mapping[str, str],
    body: AsyncIterator[bytes],
    data_dir: Path,
    limit_bytes: int,
) -> Recording:
    """Store the upload of `interview`'s candidate and add its row; the caller commits.

    A cancelled interview takes no recording (409). Should the commit fail, the caller
    removes the file with `discard()`.
    """
    assert interview.id is not None
    if interview.status == InterviewStatus.CANCELLED:
        raise ConflictError("Interview is cancelled")
    directory = data_dir / "recordings" / str(interview.id)
    stored = await stream_upload(headers, body, directory, limit_bytes)
    recording = Recording(
        interview_id=interview.id,
        path=str(stored.path.relative_to(data_dir)),
        bytes=stored.bytes,
        content_type=stored.content_type,
    )
    session.add(recording)
    try:
        await session.flush()
    except BaseException:
        stored.path.unlink(missing_ok=True)
        raise
    return recording


def discard(recording: Recording, data_dir: Path) -> None:
    """Remove a recording's file (its row was never committed)."""
    (data_dir / recording.path).unlink(missing_ok=True)

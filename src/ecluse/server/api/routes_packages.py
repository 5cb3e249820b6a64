"""Source uploads (streamed into an extraction as they arrive), packages (streamed download),
receipts, and the recipient organisation's keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from ecluse.errors import ValidationError
from ecluse.server.api.deps import gate, platform_of
from ecluse.server.api.models import (
    Done,
    ExtractionOut,
    PackageOut,
    ReceiptIn,
    RecipientKeyIn,
    RecipientKeyOut,
)
from ecluse.server.pipe import PipeClosed
from ecluse.server.uploads import Upload
from ecluse.services import packages as acts
from ecluse.services.vocabulary import Encoding, Outcome, Permission, Platform, Principal

router = APIRouter(prefix="/v1", tags=["packages"])
Plat = Annotated[Platform, Depends(platform_of)]
BATCH = 1 << 20


async def _body(request: Request, timeout: float) -> AsyncIterator[bytes]:
    """The request body in pieces of about 1 MiB; a client silent for `timeout` is dropped."""
    stream = request.stream().__aiter__()
    held: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout)
        except StopAsyncIteration:
            break
        held.append(chunk)
        size += len(chunk)
        if size >= BATCH:
            yield b"".join(held)
            held, size = [], 0
    if held:
        yield b"".join(held)


def _outcome(o: Outcome) -> ExtractionOut:
    f = o.findings
    return ExtractionOut(
        package_id=o.package_id,
        rows_read=f.rows_read,
        rows_in_scope=f.rows_in_scope,
        rows_packaged=o.rows,
        canaries=o.canaries,
        age_sha256=o.age_sha256,
        manifest_sha256=o.manifest_sha256,
        dropped=dict(f.dropped),
        transforms={k: str(v) for k, v in f.transforms.items()},
        screening={k: {str(c): n for c, n in v.items()} for k, v in f.screening.items()},
        neutralised={k: n for k, n in f.neutralised.items() if n},
        blanked={k: n for k, n in f.blanked.items() if n},
        volume=dict(f.volume),
    )


@router.put("/instructions/{instruction_id}/source", status_code=201)
async def upload_source(  # noqa: PLR0917 - FastAPI passes parameters by name
    instruction_id: str,
    request: Request,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.EXTRACTION_RUN))],
    name: Annotated[str, Query(max_length=200, pattern=r"^[\w.\- ]+$")] = "export.csv",
    encoding: Encoding = "auto",
) -> ExtractionOut:
    """Stream a source export (CSV, `;`) for a signed instruction: it is extracted as it
    arrives, and the package is ready when this returns."""
    upload = Upload(platform, p, instruction_id=instruction_id, name=name, encoding=encoding)
    try:
        async for chunk in _body(request, platform.settings.client_timeout_seconds):
            await upload.send(chunk)
    except (TimeoutError, ClientDisconnect, PipeClosed) as e:
        await upload.abort(type(e).__name__)
        raise ValidationError(f"upload interrupted: {type(e).__name__}") from e
    except BaseException:
        await upload.abort("refused")
        raise
    return _outcome(await upload.finish())


@router.get("/instructions/{instruction_id}/extractions")
def extraction_runs(
    instruction_id: str,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.EXTRACTION_RUN))],
) -> list[dict[str, object]]:
    """Your extraction runs under an instruction: state, times, bytes, why one failed."""
    return [
        {
            "id": r.id,
            "state": r.state,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "source_bytes": r.source_bytes,
            "error": r.error,
        }
        for r in acts.runs(platform, p, instruction_id)
    ]


@router.get("/packages")
def list_packages(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.PACKAGE_DOWNLOAD))]
) -> list[PackageOut]:
    """Packages addressed to your organisation."""
    return [
        PackageOut(
            id=r.id,
            state=r.state,
            rows=r.rows,
            instruction_id=r.instruction_id,
            created_at=r.created_at,
            deadline_at=r.deadline_at,
        )
        for r in acts.list_packages(platform, p, channel="https")
    ]


@router.get("/packages/{package_id}/manifest")
def manifest(
    package_id: str,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.PACKAGE_DOWNLOAD))],
) -> dict[str, object]:
    """The signed manifest (instruction, counts, schema, digests) and its signature."""
    package = acts.open_package(platform, p, package_id)
    return {
        "manifest": package.manifest,
        "kid": package.kid,
        "signature": bytes(package.signature).hex(),
    }


@router.get(
    "/packages/{package_id}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(
    package_id: str,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.PACKAGE_DOWNLOAD))],
) -> StreamingResponse:
    """The package, encrypted to your organisation's keys: open it with `age -d -i KEY`."""
    acts.open_package(platform, p, package_id)  # refuse before the first byte
    return StreamingResponse(
        acts.download(platform, p, package_id),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{package_id}.csv.age"'},
    )


@router.post("/packages/{package_id}/receipt")
def confirm(
    package_id: str,
    body: ReceiptIn,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.RECEIPT_CONFIRM))],
) -> Done:
    """Rows imported and SHA-256 of the decrypted file (no listing or manifest gives it): a
    match shreds the package; a mismatch alerts the controller and deletes nothing."""
    receipt = acts.confirm(platform, p, package_id, rows=body.rows, sha256=body.sha256)
    when = "now" if receipt.shredded else f"on {receipt.shred_at}"
    return Done(done=f"receipt matches: package shredded {when}")


@router.post("/recipient-keys", status_code=201)
def add_recipient_key(
    body: RecipientKeyIn,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.RECIPIENT_KEYS))],
) -> RecipientKeyOut:
    """Add a key packages are encrypted to; `totp_code`: a fresh code (step-up)."""
    row = acts.add_recipient_key(platform, p, body.key, body.label, code=body.totp_code)
    return RecipientKeyOut(id=row.id, kind=row.kind, fingerprint=row.fingerprint, label=row.label)


@router.delete("/recipient-keys/{key_id}")
def revoke_recipient_key(
    key_id: str, platform: Plat, p: Annotated[Principal, Depends(gate(Permission.RECIPIENT_KEYS))]
) -> Done:
    acts.revoke_recipient_key(platform, p, key_id)
    return Done(done="revoked")

"""An HTTPS upload turned into an extraction as it arrives: the bytes go through a bounded
pipe to `extract` on a worker thread, which encrypts them into the quarantine as it reads. A
break in the upload (cap, timeout, disconnect) fails the extraction, which leaves nothing
behind. (An SFTP upload is quarantined first: `sftp_upload`.)"""

from __future__ import annotations

import asyncio
import contextlib

from ecluse.errors import ValidationError
from ecluse.server.pipe import Pipe
from ecluse.services import packages
from ecluse.services.vocabulary import Encoding, Outcome, Platform, Principal


class Upload:
    def __init__(
        self,
        platform: Platform,
        principal: Principal,
        *,
        instruction_id: str,
        name: str,
        encoding: Encoding = "auto",
    ) -> None:
        self.pipe = Pipe(max_bytes=platform.settings.upload_max_bytes)

        def work() -> Outcome:
            try:
                return packages.extract(
                    platform,
                    principal,
                    instruction_id=instruction_id,
                    source=self.pipe,
                    source_name=name,
                    encoding=encoding,
                )
            finally:
                self.pipe.close()

        self.job = asyncio.get_running_loop().run_in_executor(None, work)

    @property
    def received(self) -> int:
        return self.pipe.received

    async def send(self, data: bytes) -> None:
        """Pass on `data`; raise the extraction's error if it already stopped."""
        if self.job.done():
            await self.job  # raises why it stopped; a finished one wants no more data
            raise ValidationError("the extraction already finished")
        await self.pipe.aput(data)

    async def finish(self) -> Outcome:
        """End of input: the package, or the extraction's error."""
        self.pipe.finish()
        return await self.job

    async def abort(self, why: str) -> None:
        """The upload broke: the extraction fails and cleans up; wait for it."""
        self.pipe.fail(ValidationError(f"upload interrupted: {why}"))
        with contextlib.suppress(Exception):
            await self.job

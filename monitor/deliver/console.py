"""The console channel: digests printed to standard output (the embedded default)."""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.deliver.base import ProgressCallback
from monitor.errors import DeliveryError
from monitor.model import Digest
from monitor.render import console_text


class ConsoleSender:
    """Writes each digest as plain text to a stream (standard output by default)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def send(
        self, digest: Digest, *, start_part: int = 0, on_part: ProgressCallback | None = None
    ) -> None:
        stream = self.stream or sys.stdout
        try:
            stream.write(console_text(digest).rstrip("\n") + "\n\n")
            stream.flush()
        except OSError as exc:  # a closed pipe or a full disk
            raise DeliveryError(f"cannot write to the console: {exc}") from exc
        if on_part is not None:
            await on_part(1)

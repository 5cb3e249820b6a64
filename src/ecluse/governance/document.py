"""What agreements and instructions have in common: a strict model, read from untrusted
input with errors that name the field, and signed as canonical JSON (`ecluse.canonical`, RFC 8785).
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticError

from ecluse.canonical import encode
from ecluse.errors import ValidationError


class Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def read(cls, raw: object, *, what: str) -> Self:
        """Validate `raw`; refuse with one message naming every faulty field."""
        try:
            return cls.model_validate(raw)
        except PydanticError as e:
            where = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            raise ValidationError(f"{what}: {where}") from e

    def canonical(self) -> bytes:
        """The bytes that are stored and signed."""
        return encode(self.model_dump(mode="json"))

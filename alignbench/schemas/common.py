"""Shared pydantic building blocks: strict types (a YAML `four` never becomes 4, `.nan` is refused) and the
ranges every file uses."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# SQLite integers are signed 64-bit; seeds above that overflowed the store (issue #13).
MAX_SEED = 2**63 - 1
MAX_COUNT = 10**9


class Strict(BaseModel):
    """Allowed keys only, no type coercion ("64" is not 64), finite floats only."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=True)


Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
PositiveInt = Annotated[int, Field(ge=1, le=MAX_COUNT)]
NonNegativeInt = Annotated[int, Field(ge=0, le=MAX_COUNT)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
NonEmptyStr = Annotated[str, Field(min_length=1)]
AnyValue = Any

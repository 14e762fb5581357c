"""``StrEnum`` as Python 3.11 has it, on 3.10 too: a member is its value wherever text is."""

from __future__ import annotations

import sys
from enum import Enum

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:

    class StrEnum(str, Enum):
        """An enum of strings: ``str()``, ``format()`` and JSON give the member's value."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return format(str(self.value), spec)


__all__ = ["StrEnum"]

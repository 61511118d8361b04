"""Jepsen's verdict lines (exact code points) and exit statuses."""

from __future__ import annotations

VALID = "Everything looks good! ヽ(\u2018ー`)ノ"
INVALID = "Analysis invalid! (\uff89ಥ益ಥ\uff09\uff89 ┻━┻"
UNKNOWN = "Errors occurred during analysis, but no anomalies found. ಠ~ಠ"

EXIT = {True: 0, False: 1, "unknown": 2}


def line(valid: bool | str) -> str:
    """The last line a run prints, for valid? true, false or "unknown"."""
    if valid is True:
        return VALID
    if valid is False:
        return INVALID
    return UNKNOWN


def exit_status(valid: bool | str) -> int:
    return EXIT[valid] if valid in (True, False) else 2


def merge(*valids: bool | str) -> bool | str:
    """Composes validities as Jepsen does: false beats unknown beats true."""
    if any(v is False for v in valids):
        return False
    if any(v is not True for v in valids):
        return "unknown"
    return True

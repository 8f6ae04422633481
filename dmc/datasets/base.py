"""What every dataset loader shares: the split names and the error a wrong dataset raises."""

from __future__ import annotations

SPLITS = ("train", "val", "test")


class DatasetError(ValueError):
    """A dataset path or file is wrong; the message names it and says what was expected."""

"""Argument types the CLI's parsers share: a value outside its range is argparse's one-line usage error, before
anything starts."""

from __future__ import annotations

import argparse


def port(text: str) -> int:
    """An argparse type: a TCP port, 1-65535 (the kernel took 99999 as 34463 and the log still said 99999)."""
    return _port(text, lowest=1)


def port_or_any(text: str) -> int:
    """An argparse type: a TCP port, or 0 for any free one."""
    return _port(text, lowest=0)


def _port(text: str, *, lowest: int) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not lowest <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: a whole number from {lowest} to 65535")
    return number

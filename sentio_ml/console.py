"""What the two command lines (`sentio`, `sentio-ml`) share: argument types, the Ctrl-C handler and progress bars.

Importing this module is cheap (tqdm is imported when a bar first draws), so parsers can use it freely.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator


def positive_int(text: str) -> int:
    """argparse `type=`: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_float(text: str) -> float:
    """argparse `type=`: a number greater than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, not {value}")
    return value


def fraction(text: str) -> float:
    """argparse `type=`: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, not {value}")
    return value


@contextmanager
def cancel_on_ctrl_c(message: str) -> Iterator[threading.Event]:
    """First Ctrl-C sets the yielded event (the job stops cleanly, keeping its work) and prints `message`;
    a second one raises KeyboardInterrupt at once. Outside the main thread the event is never set by Ctrl-C."""
    cancel = threading.Event()

    def handler(_signum: int, _frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print(f"\n{message}", file=sys.stderr)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield cancel
        return
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


class ProgressBar:
    """One tqdm bar on stderr fed with absolute counts: `bar(done, total)`.

    A new `desc` or `total` closes the bar and starts another (one bar per fold, per stage...);
    `quiet` hides it (tqdm also hides itself when stderr is not a terminal only if `quiet` is None).
    """

    def __init__(self, desc: str, unit: str = "it", *, quiet: bool | None = None, leave: bool = True,
                 close_when_done: bool = False) -> None:
        self.desc, self.unit, self.quiet, self.leave = desc, unit, quiet, leave
        self.close_when_done = close_when_done
        self._bar: Any = None
        self._shown: tuple[str, int | None] | None = None  # (desc, total) of the open bar

    def __call__(self, done: int, total: int | None = None, *, desc: str | None = None,
                 postfix: dict[str, Any] | str | None = None) -> None:
        desc = desc or self.desc
        bar = self._bar
        if bar is None or self._shown != (desc, total):
            self.close()
            from tqdm import tqdm

            self._shown = (desc, total)
            bar = self._bar = tqdm(total=total, desc=desc, unit=self.unit, file=sys.stderr, dynamic_ncols=True,
                                   leave=self.leave, disable=True if self.quiet else None)
        bar.update(done - bar.n)
        if isinstance(postfix, str):
            bar.set_postfix_str(postfix, refresh=False)
        elif postfix:
            bar.set_postfix(postfix)
        if self.close_when_done and total is not None and done >= total:
            self.close()

    def write(self, text: str) -> None:
        """Print a line above the bar (or plainly when there is none)."""
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

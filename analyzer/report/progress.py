"""A progress bar on stderr while a large repository loads.

Only on a terminal and only past THRESHOLD config files: small runs finish before a bar would
be readable, and logs, pipes and machine formats on stdout must never see it.
"""
from __future__ import annotations

THRESHOLD = 50


class LoadProgress:
    """The `progress(done, total)` callback the API calls as each config file is loaded."""

    def __init__(self, stream, threshold: int = THRESHOLD):
        self.stream = stream
        self.threshold = threshold
        self._bar = None
        self._task = None
        self._shown = 0

    @classmethod
    def for_stream(cls, stream, threshold: int = THRESHOLD) -> "LoadProgress | None":
        """A bar for a terminal, None for anything else (a file, a pipe, CI logs)."""
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        return cls(stream, threshold) if tty else None

    def __call__(self, done: int, total: int) -> None:
        if total <= self.threshold:
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            console = Console(file=self.stream, force_terminal=True, highlight=False, emoji=False)
            # redrawn by the updates below, not by a refresh thread: handler files are parsed by
            # worker processes forked while configs load, and a fork must not copy a thread that
            # may hold stderr's lock
            self._bar = Progress(TextColumn("loading configs"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True,
                                 auto_refresh=False)
            self._bar.start()
            self._task = self._bar.add_task("load", total=total)
        if done == total or done - self._shown >= max(1, total // 100):   # 10,000 files: 100 updates
            self._shown = done
            self._bar.update(self._task, completed=done, refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""What a user sees during training: a Rich live dashboard on a terminal, plain lines elsewhere.

Rich Live draws nothing when stdout is not a terminal (CI, pipes, files), so those get one plain
line per log_interval and no control codes. Early-stopping and checkpoint messages print as lines
in both modes, in the guide's wording.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table

from genesis_cli.cli.output import duration_text
from genesis_cli.engine.runs.reports import EpochReport, EvalReport, RunInfo, StepReport, TrainingObserver

if TYPE_CHECKING:
    from genesis_cli.engine.runtime.phases import PhaseAccount

SPARKS = "▁▂▃▄▅▆▇█"
MESSAGES_SHOWN = 6


def sparkline(values: tuple[float, ...] | list[float], width: int = 40) -> str:
    """A one-line chart of the most recent ``width`` values."""
    values = list(values)[-width:]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(SPARKS[min(int((v - lo) / span * (len(SPARKS) - 1) + 0.5), len(SPARKS) - 1)] for v in values)


def rate(events_per_second: float) -> str:
    """Events/s with significant digits for slow models (0.42, 7.3, 86) and thousands separators above."""
    if events_per_second >= 10:
        return f"{events_per_second:,.0f}"
    return f"{events_per_second:.1f}" if events_per_second >= 1 else f"{events_per_second:.2g}"


class PlainReporter(TrainingObserver):
    """Plain log lines: for pipes, files and CI."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def _print(self, text: str) -> None:
        self.console.print(escape(text), highlight=False, soft_wrap=True)

    def on_start(self, info: RunInfo) -> None:
        self._print(f"{info.activity} {info.experiment}: {info.architecture}, {info.parameters:,} parameters on {info.where}; "
                    f"{info.train_events:,} training and {info.val_events:,} validation events; "
                    f"{info.total_steps:,} steps ({info.steps_per_epoch:,} per epoch)")

    def on_step(self, r: StepReport) -> None:
        self._print(f"epoch {r.epoch} step {r.step}/{r.total_steps} ({r.percent:.0f}%) loss {r.loss:.4f} "
                    f"(smoothed {r.smoothed_loss:.4f}) lr {r.learning_rate:.2e} {rate(r.events_per_second)} events/s "
                    f"ETA {duration_text(r.eta_seconds)}")

    def on_eval(self, r: EvalReport) -> None:
        self._print(f"step {r.step}: validation loss {r.val_loss:.4f}")

    def on_epoch(self, r: EpochReport) -> None:
        self._print(f"Epoch {r.epoch} completed: loss={r.monitored_loss:.4f}")

    def on_message(self, text: str) -> None:
        self._print(text)

    def on_phases(self, account: PhaseAccount) -> None:
        self.on_message(account.summary())


class LiveDashboard(PlainReporter):
    """A live panel: progress, loss and its recent history, LR, validation, early stopping, speed."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.info: RunInfo | None = None
        self.step: StepReport | None = None
        self.val_loss: float | None = None
        self.epoch: EpochReport | None = None
        self.messages: deque[str] = deque(maxlen=MESSAGES_SHOWN)
        self.ended = False
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=False)

    def on_start(self, info: RunInfo) -> None:
        self.info = info
        self.live.start()
        self._show()

    def on_step(self, r: StepReport) -> None:
        self.step = r
        self.live.update(self._render())  # steps come often: the 4 Hz refresh draws them

    def on_eval(self, r: EvalReport) -> None:
        self.val_loss = r.val_loss
        self._show()

    def on_epoch(self, r: EpochReport) -> None:
        self.epoch = r
        self._show()  # first: printing the line redraws the panel drawn last below it
        self.live.console.print(f"Epoch {r.epoch} completed: loss={r.monitored_loss:.4f}")

    def on_message(self, text: str) -> None:
        self.messages.append(text)
        self.live.console.print(escape(text))

    def on_end(self, reason: str) -> None:
        self.ended = True
        self._show()
        self.live.stop()

    def _show(self) -> None:
        """Draw now: an epoch's end or a validation result shows at once, not a refresh later."""
        self.live.update(self._render(), refresh=True)

    def stop(self) -> None:
        """Always stop the live display (restores the cursor), also after errors. Interrupted (no on_end),
        the panel is cleared, so the interruption's message follows the plain lines without a stray border."""
        if self.live.is_started:
            if not self.ended:
                self.live.transient = True
            self.live.stop()

    def _render(self) -> Panel:
        info, s = self.info, self.step
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        step = s.step if s is not None else self.epoch.step if self.epoch is not None else None
        if info is not None and step is not None:  # a short run may end before its first logged step
            table.add_row("progress", ProgressBar(total=info.total_steps, completed=step, width=50))
            epoch = s.epoch if s is not None else self.epoch.epoch if self.epoch is not None else 0
            timing = f" · elapsed {duration_text(s.elapsed_seconds)} · ETA {duration_text(s.eta_seconds)}" if s else ""
            table.add_row("", f"{100 * step / max(info.total_steps, 1):.0f}% · epoch {epoch}{info.epochs_text} · "
                              f"step {step:,}/{info.total_steps:,}{timing}")
        if s is not None:
            table.add_row("loss", f"{s.loss:.5f}  (smoothed {s.smoothed_loss:.5f})")
            table.add_row("", f"[cyan]{sparkline(s.history)}[/]")
            table.add_row("learning rate", f"{s.learning_rate:.3e}   grad norm {s.grad_norm:.3f}")
            table.add_row("throughput", f"{rate(s.events_per_second)} events/s   memory {s.memory_bytes / 2**30:.2f} GiB")
        elif step is None:
            table.add_row("status", "finished" if self.ended else "starting…")
        table.add_row("validation", f"{self.val_loss:.5f}" if self.val_loss is not None else "-")
        if info is not None and info.patience is not None:
            e = self.epoch
            best = f"best {e.best_loss:.6f} at epoch {e.best_epoch}" if e and e.best_loss is not None else "no best yet"
            used = e.patience_used if e else 0
            table.add_row("early stopping", f"{used}/{info.patience} epochs without improvement · {best}")
        elif info is not None:
            table.add_row("early stopping", "off")
        name = f"{info.experiment} (distilling)" if info and info.student else info.experiment if info else ""
        title = (f"GENESIS · {name} · {info.architecture} · {info.parameters:,} params · {info.where}"
                 + (f" · {info.amp}" if info.amp else "")) if info else "GENESIS"
        return Panel(table, title=title, title_align="left", border_style="blue")


def make_observer(debug: bool) -> TrainingObserver | None:
    """The live dashboard on a terminal (plain lines with --debug or when piped); nothing on
    ranks other than 0 of a distributed launch (one display per launch)."""
    from genesis_cli.engine.runtime.distributed import Distributed

    if not Distributed.from_environment().is_main:
        return None
    out = Console(soft_wrap=True, highlight=False)
    return LiveDashboard(out) if out.is_terminal and not debug else PlainReporter(out)

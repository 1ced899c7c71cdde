"""A wall-clock budget for training (``max_train_minutes``).

The same 2 CPU cores are not equally fast everywhere: the quickstart's 110 steps took 570 s on
one host (AVX512-BF16) and would have taken about 24 minutes on another (AVX2 only). A recipe sized for a time therefore says so, and the run
keeps to it: after its first steps it measures this host's speed and, where ``max_steps`` would
take longer than the budget, trains as many steps as fit, with the learning-rate schedule (its
warm-up included) compressed to end there, so the shorter run still ends with a cooled-down
model rather than being cut off at a high learning rate. It says so in a warning and in
``train_summary.json``. A killed run resumes with the plan it had (saved in the checkpoint's
``trainer_state.json``) and the time it had spent.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

logger = logging.getLogger(__name__)


def planned_steps(*, budget_s: float, elapsed_s: float, step: int, seconds_per_step: float, max_steps: int) -> int:
    """How many steps in all fit the budget: the steps done, then as many as the time left holds at
    ``seconds_per_step``; at least one more, at most ``max_steps``.

    >>> planned_steps(budget_s=900, elapsed_s=170, step=10, seconds_per_step=16.0, max_steps=110)
    55
    """
    if seconds_per_step <= 0:
        return max_steps
    more = math.floor(max(budget_s - elapsed_s, 0.0) / seconds_per_step)
    return min(max_steps, max(step + 1, step + more))


class TimeBudget(TrainerCallback, ExportableState):
    """Fit the run into ``minutes`` of training (see the module docstring).

    ``tokens_per_step``: the mean number of (non-padding) tokens an optimizer step sees, over all
    processes. The speed is measured from the end of the first step (which carries warm-up
    costs) to the end of step ``probe_steps`` as seconds per token, times ``tokens_per_step``:
    batches grouped by length start with the longest ones, so seconds per step measured there
    would overstate the rest. Without token counts, seconds per step. ``clock``: for tests.
    """

    def __init__(self, minutes: float, tokens_per_step: float | None = None, probe_steps: int | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        if minutes <= 0:
            raise ValueError(f"TimeBudget needs minutes > 0, got {minutes}")
        self.minutes, self.tokens_per_step, self.probe_steps = float(minutes), tokens_per_step, probe_steps
        self.planned: int | None = None
        self.seconds_before = 0.0
        self.clock = clock
        self._progress = None
        self._start = self._marks = None
        self.record: dict = {"max_train_minutes": self.minutes}

    @staticmethod
    def of(trainer) -> TimeBudget | None:
        """The trainer's budget callback (after a resume with ``restore_callback_states_from_checkpoint``,
        a new instance the Trainer made from the checkpoint)."""
        return next((cb for cb in trainer.callback_handler.callbacks if isinstance(cb, TimeBudget)), None)

    def correct(self, metrics: dict) -> dict:
        """transformers counts the samples of a run by the recipe's steps over the planned ones: scaled
        back, so ``train_samples_per_second`` is what the run read."""
        recipe, planned = self.record.get("recipe_steps"), self.record.get("planned_steps")
        if recipe and planned and planned < recipe and metrics.get("train_samples_per_second") is not None:
            metrics["train_samples_per_second"] = round(metrics["train_samples_per_second"] * planned / recipe, 3)
        return metrics

    def attach(self, trainer) -> TimeBudget:
        """Add this callback to ``trainer``, after its progress bar, whose total it then keeps to the plan."""
        from transformers.trainer_callback import ProgressCallback

        trainer.add_callback(self)
        self._progress = next((cb for cb in trainer.callback_handler.callbacks if isinstance(cb, ProgressCallback)),
                              None)
        return self

    # -- the plan survives a resume: trainer_state.json keeps it ------------------------------
    def state(self) -> dict:
        return {"args": {"minutes": self.minutes, "tokens_per_step": self.tokens_per_step,
                         "probe_steps": self.probe_steps},
                "attributes": {"planned": self.planned, "seconds_before": self.elapsed()}}

    def elapsed(self) -> float:
        """Seconds of training so far, earlier processes of a resumed run included."""
        return self.seconds_before + (self.clock() - self._start if self._start is not None else 0.0)

    def on_train_begin(self, args, state, control, **kwargs):
        # a checkpoint written without a budget has no entry, and the Trainer's save looks it up
        stored = state.stateful_callbacks.setdefault(type(self).__name__, self.state())
        if isinstance(stored, dict) and stored.get("attributes"):  # a resumed run: its plan and its time
            self.planned = stored["attributes"].get("planned")
            self.seconds_before = float(stored["attributes"].get("seconds_before") or 0.0)
        self._start = self.clock()
        self._marks = None
        if self.planned is not None and self.planned < state.max_steps:
            self._apply(args, state, kwargs.get("lr_scheduler"), resumed=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.planned is not None:
            return
        if self._marks is None:  # the end of this process's first step: the measurement starts here
            self._marks = (state.global_step, self.clock(), state.num_input_tokens_seen or 0)
            return
        probe = self.probe_steps or max(2, min(10, state.max_steps // 10))
        step0, t0, tokens0 = self._marks
        if state.global_step - step0 < probe - 1:
            return
        seconds = self.clock() - t0
        tokens = (state.num_input_tokens_seen or 0) - tokens0
        if tokens > 0 and self.tokens_per_step:
            per_step = seconds / tokens * self.tokens_per_step
        else:
            per_step = seconds / (state.global_step - step0)
        planned = planned_steps(budget_s=self.minutes * 60, elapsed_s=self.elapsed(), step=state.global_step,
                                seconds_per_step=per_step, max_steps=state.max_steps)
        planned = self._agree(planned)
        self.planned = planned
        estimate = self.elapsed() + (state.max_steps - state.global_step) * per_step
        self.record.update(seconds_per_step=round(per_step, 2), estimate_min=round(estimate / 60, 1),
                           recipe_steps=state.max_steps, planned_steps=planned)
        if planned < state.max_steps:
            logger.warning(
                "Time budget: this host trains at about %.1f s a step, so max_steps %d would take about %.1f min, "
                "over max_train_minutes %g. Training %d steps instead, with the learning-rate schedule compressed "
                "to end there (a smaller model update than the recipe's; --max_train_minutes 0 trains all %d).",
                per_step, state.max_steps, estimate / 60, self.minutes, planned, state.max_steps)
            self._apply(args, state, kwargs.get("lr_scheduler"))
        else:
            logger.info("Time budget: about %.1f s a step, all %d steps in about %.1f min (max_train_minutes %g)",
                        per_step, state.max_steps, estimate / 60, self.minutes)

    def _agree(self, planned: int) -> int:
        """Every process trains the same number of steps: the main process's plan."""
        from accelerate import PartialState
        from accelerate.utils import broadcast_object_list

        if PartialState().num_processes == 1:
            return planned
        return int(broadcast_object_list([planned], from_process=0)[0])

    def _apply(self, args, state, lr_scheduler, *, resumed: bool = False) -> None:
        recipe_steps = state.max_steps
        state.max_steps = self.planned  # DefaultFlowCallback ends (evaluates, saves) the run there
        self.record.setdefault("recipe_steps", recipe_steps)
        self.record["planned_steps"] = self.planned
        if resumed:
            logger.warning("Time budget: resuming the plan of %d steps of %d (max_train_minutes %g)", self.planned,
                           recipe_steps, self.minutes)
        compress_schedule(lr_scheduler, args, recipe_steps, self.planned)
        bar = getattr(self._progress, "training_bar", None)
        if bar is not None:
            bar.total = self.planned
            bar.refresh()


def compress_schedule(lr_scheduler, args, recipe_steps: int, steps: int) -> bool:
    """Make ``lr_scheduler`` (a LambdaLR, e.g. transformers' cosine with warm-up) run its whole
    shape in ``steps`` instead of ``recipe_steps``, warm-up scaled alike; the learning rates of
    the current step are set at once. Returns False (and changes nothing) for a scheduler of
    another kind."""
    from torch.optim.lr_scheduler import LambdaLR
    from transformers import get_scheduler

    scheduler = getattr(lr_scheduler, "scheduler", lr_scheduler)  # accelerate's wrapper
    if not isinstance(scheduler, LambdaLR):
        logger.warning("Time budget: the %s learning-rate schedule is not compressed (only lambda schedules are)",
                       type(scheduler).__name__)
        return False
    warmup = round(args.get_warmup_steps(recipe_steps) * steps / recipe_steps)
    optimizer = scheduler.optimizer
    lrs = [group["lr"] for group in optimizer.param_groups]
    fresh = get_scheduler(args.lr_scheduler_type, optimizer=optimizer, num_warmup_steps=warmup,
                          num_training_steps=steps, scheduler_specific_kwargs=args.lr_scheduler_kwargs)
    for group, lr in zip(optimizer.param_groups, lrs, strict=True):  # building it stepped the optimizer's lrs
        group["lr"] = lr
    scheduler.lr_lambdas = list(fresh.lr_lambdas)
    now = scheduler.last_epoch
    for group, base, fn in zip(optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas, strict=True):
        group["lr"] = base * fn(now)
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
    return True

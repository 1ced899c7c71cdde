"""Configuration dataclasses for the model: LoRA and the heads with their loss weights.

One dataclass per concern, with ``help`` on every field (shown by ``--help``) and
validation in ``__post_init__``. The training parser (``config.py``) combines these with
the data and training arguments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from peft import LoraConfig, TaskType


@dataclass
class LoraArguments:
    """LoRA adapter on the LM (peft)."""

    lora_r: int = field(default=16, metadata={"help": "LoRA rank r."})
    lora_alpha: float = field(default=32, metadata={"help": "LoRA scaling alpha (the update is scaled by alpha/r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA input, in [0, 1)."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"],
        metadata={"help": "Modules to adapt: names such as q_proj v_proj, or 'all-linear' for every linear "
                          "layer but the output layer."})
    use_rslora: bool = field(default=False, metadata={"help": "Rank-stabilised LoRA scaling (alpha/sqrt(r))."})

    def __post_init__(self):
        if self.lora_r < 1:
            raise ValueError(f"lora_r must be >= 1, got {self.lora_r}")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if isinstance(self.lora_target_modules, str):
            self.lora_target_modules = [m for m in self.lora_target_modules.replace(",", " ").split() if m]
        if not self.lora_target_modules:
            raise ValueError("lora_target_modules is empty: name modules such as q_proj, or use all-linear")

    def to_peft(self):
        targets = self.lora_target_modules
        target = "all-linear" if targets == ["all-linear"] else list(targets)
        return LoraConfig(r=self.lora_r, lora_alpha=self.lora_alpha, lora_dropout=self.lora_dropout,
                          target_modules=target, use_rslora=self.use_rslora, task_type=TaskType.CAUSAL_LM)


@dataclass
class HeadArguments:
    """The function-selector and argument heads, and the weights of the joint loss."""

    selector_head: bool = field(default=True, metadata={
        "help": "Train the function-selector head (softmax over offered tools + NO_CALL)."})
    argument_head: bool = field(default=True, metadata={
        "help": "Train the argument head (h_t + U e_f through the LM's output layer)."})
    w_select: float = field(default=1.0, metadata={"help": "Weight of the selector loss L_select."})
    w_param: float = field(default=1.0, metadata={"help": "Weight of the argument-token loss L_param."})
    w_lm: float = field(default=1.0, metadata={"help": "Weight of the language-modelling loss L_lm."})

    def __post_init__(self):
        for name in ("w_select", "w_param", "w_lm"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.w_lm == 0 and not (self.selector_head or self.argument_head):
            raise ValueError("nothing to train: w_lm is 0 and both heads are off")

    def to_dict(self) -> dict:
        return asdict(self)

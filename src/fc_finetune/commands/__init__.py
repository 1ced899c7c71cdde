"""Sub-commands of ``fc-finetune``: each module has ``register(subparsers)`` and ``main(args)``."""

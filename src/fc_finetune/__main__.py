"""``python -m fc_finetune`` is the ``fc-finetune`` command."""

import sys

from .cli import main

sys.exit(main())

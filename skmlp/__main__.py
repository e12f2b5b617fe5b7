"""``python -m skmlp``: the same as the ``skmlp`` command."""

import sys

from .cli import main

sys.exit(main())

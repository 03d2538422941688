"""``python -m examples.gmm``: run the EM / sct-gradient comparison."""

import sys

from .compare import main

sys.exit(main())

"""Every program the tests build is checked against sct's internal invariants (sct/invariants.py)."""
import os

os.environ.setdefault("SCT_CHECK_INVARIANTS", "1")

"""Regenerate every shared fixture: ``python -m tests.mirror``."""

from tests.mirror import write_all

for path in write_all():
    print(f"wrote {path}")

"""The committed shared fixtures equal what the Python rules give now (see tests/mirror)."""

import pytest

from tests.mirror import FIXTURES, pairs, render


def test_every_pair_has_a_fixture_and_a_vitest_reader():
    assert pairs(), "no mirrored pairs registered in tests/mirror"
    for name in pairs():
        reader = FIXTURES.parent / f"mirror_{name}.test.ts"
        assert reader.exists(), f"{name}: no vitest reads js/tests/fixtures/{name}.json (expected {reader.name})"


@pytest.mark.parametrize("name", pairs())
def test_fixture_is_current(name):
    path = FIXTURES / f"{name}.json"
    assert path.exists(), f"{path} is missing: run python -m tests.mirror"
    assert path.read_text() == render(name), f"{path.name} is stale (the Python rule changed): python -m tests.mirror"

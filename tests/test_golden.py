"""Results do not move: every shipped scenario, under seeds 1-3, gives the recorded output byte for byte.

The recorded outcomes (``tests/golden/results.json.gz``) were written by
``python -m tests.golden record`` before the node-kind restructuring; see
:mod:`tests.golden`. A change that is meant to alter results re-records them
and says why in its commit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import golden

GOLDEN = golden.load_golden()
CASES = list(golden.cases())


def test_every_shipped_file_has_recorded_outcomes() -> None:
    keys = {f"{key}@{seed}" for key, _, _ in CASES for seed in golden.SEEDS}
    assert keys == set(GOLDEN)


@pytest.mark.slow
@pytest.mark.parametrize("key,path,which", CASES, ids=[c[0] for c in CASES])
def test_results_are_byte_identical_to_the_recorded_ones(key: str, path: Path, which: str) -> None:
    now = {f"{key}@{seed}": golden.outcome(path, which, seed) for seed in golden.SEEDS}
    assert golden.differences({k: GOLDEN[k] for k in now}, now) == []

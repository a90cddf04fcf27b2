"""The one-sort percentile band gives np.percentile's floats exactly (the evidence's bands depend on it)."""

import numpy as np
import pytest

from env.demand_fit import percentile_pair


@pytest.mark.parametrize("shape", [(400, 243), (400, 1), (200,), (401, 5), (2, 3), (1, 4), (3,)])
def test_matches_numpy_bit_for_bit(shape):
    rng = np.random.default_rng(sum(shape))
    for band in [(5.0, 95.0), (2.5, 97.5), (0.0, 100.0), (50.0, 50.0)]:
        for _ in range(10):
            values = rng.lognormal(0, 2, size=shape) * rng.choice([-1.0, 1.0])
            low, high = percentile_pair(values, band)
            expected_low, expected_high = np.percentile(values, band, axis=0)
            assert np.array_equal(low, expected_low) and np.array_equal(high, expected_high)


def test_leaves_its_input_alone():
    values = np.array([[3.0, 1.0], [1.0, 2.0], [2.0, 0.5]])
    before = values.copy()
    percentile_pair(values, (5.0, 95.0))
    assert np.array_equal(values, before)

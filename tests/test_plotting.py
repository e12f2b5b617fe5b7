"""skmlp.plotting: the figures of a run."""

import matplotlib

matplotlib.use("Agg")

import numpy as np

from skmlp import plotting


class _Fitted:
    """Stands in for a fitted estimator: only ``coefs_`` is read."""

    def __init__(self, coefs):
        self.coefs_ = coefs


def test_weight_plot_samples_large_layers_keeping_the_extremes():
    rng = np.random.default_rng(1)
    big = rng.normal(size=(600, 500))  # 300,000 weights
    small = rng.normal(size=(50, 10))
    sample = plotting._sample_for_density(big.ravel())
    assert sample.size == plotting.MAX_DENSITY_POINTS
    assert sample.min() == big.min() and sample.max() == big.max()
    np.testing.assert_array_equal(sample, plotting._sample_for_density(big.ravel()))  # seeded
    np.testing.assert_array_equal(plotting._sample_for_density(small.ravel()), small.ravel())

    fig = plotting.plot_weight_distributions(_Fitted([big, small]))
    bodies = fig.axes[0].collections
    assert len(fig.axes[0].get_xticklabels()) == 2
    # the drawn extremes are the layer's own
    ys = np.concatenate([p.vertices[:, 1] for c in bodies for p in c.get_paths()])
    assert np.isclose(ys.min(), min(big.min(), small.min()))
    assert np.isclose(ys.max(), max(big.max(), small.max()))

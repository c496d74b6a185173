"""Study A's observation on our demo set: PC1 of two-point statistics tracks the volume fraction."""

import numpy as np
from scipy import stats

from msdash.data.dataset import demo_dataset
from msdash.features import extract
from msdash.maps import pc_property_correlation, pca_map


def test_pc1_of_two_point_tracks_volume_fraction_on_the_demo():
    demo = demo_dataset()
    table = extract(demo, "two_point_paper_a", store=False)
    assert table.values.shape == (300, 1681) and not table.errors
    result = pca_map(table.values)
    vf = demo.properties["volume_fraction"].to_numpy()
    r = abs(stats.pearsonr(result.coords[:, 0], vf)[0])
    assert r > 0.9
    assert result.explained_variance_ratio[0] > 0.5  # PC1 dominates, as in study A (~92% there)
    table_r = pc_property_correlation(result.coords, demo.properties, n_pcs=3)
    assert np.isclose(table_r.loc["volume_fraction", "PC1"], r)

"""FID and KID against closed forms and hand computations; the Inception extractor's loading."""
import numpy as np
import pytest
import scipy.stats
import torch

from autogas.errors import AutogasError
from autogas.train.metrics import (INCEPTION_ENV, InceptionV3Features, extract_features, fid_from_features,
                                   frechet_distance, inception_weights_path, kid_from_features, load_inception,
                                   mmd2_unbiased)


def test_fid_same_covariance_is_squared_mean_distance():
    cov = scipy.stats.wishart(df=6, scale=np.eye(4)).rvs(random_state=0)
    mu1, mu2 = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, -1.0, 2.0, 5.0])
    assert frechet_distance(mu1, cov, mu2, cov) == pytest.approx(1 + 4 + 0 + 4, abs=1e-8)


def test_fid_diagonal_and_rotated_covariances():
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    mu1, mu2 = np.zeros(3), np.array([0.0, 3.0, 0.0])
    expected = 9.0 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()  # 9 + 1 + 1 + 6.25
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, abs=1e-9)
    q = scipy.stats.ortho_group.rvs(3, random_state=1)  # commuting, non-diagonal covariances
    assert frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T) == \
        pytest.approx(expected, abs=1e-8)


def test_fid_from_samples_approaches_closed_form_and_is_zero_on_itself():
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, size=(20000, 2))
    y = rng.normal([2.0, 0.0], [2.0, 1.0], size=(20000, 2))
    assert fid_from_features(x, y) == pytest.approx(4.0 + 1.0, abs=0.1)
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-6)


def test_fid_singular_covariance_is_finite():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 16)), rng.normal(size=(5, 16))  # rank-4 covariances in 16-d
    assert np.isfinite(fid_from_features(x, y))


def test_kid_hand_computed_case():
    x, y = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    # k(a, b) = (a b + 1)^3:  k_xx(0,1) = 1;  k_yy(2,3) = 343;  k_xy = 1, 1, 27, 64 (sum 93)
    expected = (2 * 1) / 2 + (2 * 343) / 2 - 2 * 93 / 4
    assert mmd2_unbiased(x, y) == pytest.approx(expected)
    mean, std = kid_from_features(x, y, subsets=3, subset_size=2)
    assert mean == pytest.approx(expected) and std == pytest.approx(0.0)


def test_kid_is_unbiased_near_zero_for_one_distribution():
    rng = np.random.default_rng(2)
    same = kid_from_features(rng.normal(size=(300, 8)), rng.normal(size=(300, 8)), subsets=20, subset_size=100)
    shifted = kid_from_features(rng.normal(size=(300, 8)), rng.normal(1.0, 1.0, size=(300, 8)),
                                subsets=20, subset_size=100)
    assert abs(same[0]) < 3 * same[1] + 1e-3 and shifted[0] > 10 * abs(same[0])
    with pytest.raises(AutogasError, match="at least 2 images"):
        kid_from_features(np.zeros((1, 3)), np.zeros((5, 3)))


def test_extract_features_batches_by_size_with_an_injected_extractor():
    calls = []

    def mean_colour(batch: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(batch.shape))
        assert batch.dtype == torch.uint8
        return batch.float().mean(dim=(2, 3))

    images = [np.full((4, 4, 3), v, np.uint8) for v in (10, 20, 30)] + [np.full((6, 5, 3), 40, np.uint8)]
    features = extract_features(mean_colour, images, batch_size=2)
    assert calls == [(2, 3, 4, 4), (1, 3, 4, 4), (1, 3, 6, 5)]
    np.testing.assert_allclose(features[:, 0], [10, 20, 30, 40])


def test_inception_architecture_and_weight_loading(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = InceptionV3Features()
    # torchvision's inception_v3 has 27,161,264 parameters; without the aux head (3,326,696) and with
    # a 1008-way classifier (+16,392) that is the FID network's 23,850,960
    assert sum(p.numel() for p in model.parameters()) == 23_850_960
    assert "Mixed_7c.branch3x3dbl_3b.bn.running_var" in model.state_dict()
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "w.pth")
    monkeypatch.setenv(INCEPTION_ENV, str(tmp_path / "w.pth"))
    loaded = load_inception()
    images = torch.randint(0, 256, (2, 3, 37, 45), dtype=torch.uint8)
    with torch.no_grad():
        out = loaded(images)
        assert out.shape == (2, 2048)
        assert torch.allclose(out, model.eval()(images))
    torch.save({"fc.weight": torch.zeros(3)}, tmp_path / "bad.pth")
    with pytest.raises(AutogasError, match="bad.pth is not an Inception-v3 FID weight file"):
        load_inception(tmp_path / "bad.pth")


def test_missing_inception_weights_explain_how_to_provide_them(tmp_path, monkeypatch):
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    with pytest.raises(AutogasError, match="--inception-weights PATH"):
        inception_weights_path(None)
    with pytest.raises(AutogasError, match="not found at .*nope.pth"):
        inception_weights_path(tmp_path / "nope.pth")

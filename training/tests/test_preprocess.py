import numpy as np
import pytest
import torch

from data import preprocess_batch
from make_fixtures import synthetic_drawing
from preprocess import EmptyDrawingError, preprocess


def test_output_is_28x28_with_ink_one_and_background_zero():
    img = np.ones((105, 105))
    img[40:60, 50:53] = 0.0  # a dark vertical bar on white paper
    out = preprocess(img, ink_is_dark=True)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.max() == pytest.approx(1.0) and out.min() == 0.0
    assert out[0].sum() == 0 and out[:, 0].sum() == 0  # the margin stays empty


def test_bar_is_scaled_to_the_box_and_centred():
    img = np.zeros((50, 80))
    img[10:30, 20:24] = 1.0  # 20 tall, 4 wide, light ink on black
    out = preprocess(img, ink_is_dark=False)
    rows = np.nonzero(out.any(1))[0]
    cols = np.nonzero(out.any(0))[0]
    assert (rows[0], rows[-1]) == (4, 23)  # the longer side fills the 20-cell box
    assert (cols[0] + cols[-1]) / 2 == pytest.approx(13.5, abs=0.5)  # centred horizontally


def test_polarity_and_position_do_not_matter():
    rng = np.random.default_rng(0)
    ink = 1.0 - synthetic_drawing(rng, 60, 60)
    big = np.zeros((120, 140))
    big[30:90, 70:130] = ink
    a = preprocess(1.0 - ink, ink_is_dark=True)
    b = preprocess(big, ink_is_dark=False)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_uint8_input_is_scaled():
    img = np.full((20, 20), 255, np.uint8)
    img[5:10, 5:10] = 0
    np.testing.assert_allclose(preprocess(img), preprocess(img / 255.0), atol=1e-7)


@pytest.mark.parametrize("img", [np.ones((10, 10)), np.full((10, 10), 0.95)])
def test_empty_drawing_is_refused(img):
    with pytest.raises(EmptyDrawingError):
        preprocess(img, ink_is_dark=True)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="2-D"):
        preprocess(np.zeros((3, 4, 5)))
    bad = np.zeros((5, 5))
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        preprocess(bad)


def test_batched_torch_preprocessing_matches_the_reference():
    rng = np.random.default_rng(3)
    imgs = [1.0 - synthetic_drawing(rng, 105, 105, soft=bool(i % 2)) for i in range(12)]
    ref = np.stack([preprocess(i, ink_is_dark=False) for i in imgs])
    got = preprocess_batch(torch.tensor(np.stack(imgs), dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-6)


def test_dataset_cache_is_the_reference_preprocessing_of_each_rotation():
    from data import Characters, Dataset
    rng = np.random.default_rng(4)
    ink = np.stack([(synthetic_drawing(rng, 105, 105) < 0.5).astype(np.uint8) for _ in range(3)])
    ds = Dataset(Characters(ink, np.arange(3), ["A/c1", "A/c2", "A/c3"]), np.arange(3))
    for r in range(4):
        for i in range(3):
            ref = preprocess(np.rot90(ink[i], r).astype(np.float64), ink_is_dark=False)
            np.testing.assert_allclose(ds.cache[0, r, i].numpy(), ref, atol=1e-5)

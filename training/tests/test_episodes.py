"""Episode sampling and the fast (vectorised) memory-loss path of train.py."""
import pytest
import numpy as np
import torch
import torch.nn.functional as F

import train
from data import Dataset
from memory import Memory, MemoryConfig
from test_model_export_train import synthetic_characters


def row_by_row_losses(q, labels, alpha, k=256):
    """Each episode alone through the row-by-row memory.Memory: loss against the memory as it
    stands, then the write. -> [B, L-1] losses."""
    B, L, D = q.shape
    out = torch.zeros(B, L - 1)
    for b in range(B):
        mem = Memory(MemoryConfig(memory_size=L, key_size=D, k=k, alpha=alpha))
        for t in range(L):
            if t > 0:
                loss, _, _ = mem.loss(q[b, t:t + 1], labels[b, t:t + 1])
                out[b, t - 1] = loss[0]
            mem.write(q[b, t:t + 1], labels[b, t:t + 1])
    return out


def test_fast_path_equals_row_by_row_memory():
    torch.manual_seed(3)
    B, L, W, D = 5, 12, 3, 8
    # clustered keys so that both update cases and near ties of classes happen
    centres = F.normalize(torch.randn(W, D), dim=1)
    labels = torch.randint(W, (B, L))
    q = F.normalize(centres[labels] + 0.6 * torch.randn(B, L, D), dim=-1)
    fast, keep = train.episode_memory_loss(q, labels, alpha=0.1)
    slow = row_by_row_losses(q, labels, alpha=0.1)
    torch.testing.assert_close(fast, slow, atol=1e-6, rtol=1e-5)
    assert keep.all()
    assert (fast > 0).any() and (fast == 0).any()  # both sides of the hinge are exercised
    # gradients flow to q only
    qg = q.clone().requires_grad_()
    train.episode_memory_loss(qg, labels, 0.1)[0].sum().backward()
    assert qg.grad.abs().sum() > 0


def test_skip_drops_terms_without_a_positive():
    torch.manual_seed(0)
    labels = torch.tensor([[0, 1, 0, 1, 2, 2]])
    q = F.normalize(torch.randn(1, 6, 4), dim=-1)
    _, keep = train.episode_memory_loss(q, labels, 0.1, "skip")
    # step 1 (label 1, never seen), step 4 (label 2, never seen) have no positive
    assert keep.tolist() == [[False, True, True, False, True]]


def test_sampler_balanced_and_without_repeated_drawings():
    ds = Dataset(synthetic_characters(n_chars=10, per_char=8), np.arange(10))
    gen = torch.Generator().manual_seed(0)
    B, W, L = 6, 4, 14
    img, rot, which = train.sample_episodes(ds, B, W, L, gen)
    assert img.shape == (B, L)
    for b in range(B):
        # every class of the episode appears before any repeats: each round of W is a permutation
        for r in range(0, L, W):
            chunk = which[b, r:r + W].tolist()
            assert len(set(chunk)) == len(chunk)
        assert set(which[b].tolist()) == set(range(W))
        # no drawing twice in an episode (the same drawing may appear under two rotations: two classes)
        assert len(set(zip(img[b].tolist(), rot[b].tolist()))) == L
        for j in range(W):
            steps = (which[b] == j).nonzero().flatten()
            chars = {int(ds.char[i]) for i in img[b, steps]}
            rots = {int(r) for r in rot[b, steps]}
            assert len(chars) == 1 and len(rots) == 1  # one class = one character x one rotation
    # distinct classes within an episode
    for b in range(B):
        classes = {(int(ds.char[img[b, t]]), int(rot[b, t])) for t in range(L)}
        assert len(classes) == W


def test_alphabet_grouped_episodes():
    """--episode_alphabets=A: each episode's classes come from A alphabets (one more while they hold
    fewer than W classes), still balanced and without repeated drawings; A = 0 keeps the reference
    sampler's random stream."""
    base = synthetic_characters(n_chars=12, per_char=8)
    sizes = [2, 3, 3, 4]  # characters per alphabet
    names = [f"Script{a}/character{c:02d}" for a, n in enumerate(sizes) for c in range(n)]
    chars = type(base)(base.ink, base.char, names)
    ds = Dataset(chars, np.arange(12))
    assert ds.alphabet_names == ["Script0", "Script1", "Script2", "Script3"]
    assert ds.alphabet.tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3]
    gen = torch.Generator().manual_seed(0)
    B, W, L = 40, 6, 12
    img, rot, which = train.sample_episodes(ds, B, W, L, gen, alphabets=1)
    seen = set()
    for b in range(B):
        alphabets = {int(ds.alphabet[ds.char[i]]) for i in img[b].tolist()}
        # 6 classes fit in one alphabet of >= 2 characters (x 4 rotations), so exactly one is used
        assert len(alphabets) == 1
        seen |= alphabets
        assert len({(int(ds.char[i]), int(r)) for i, r in zip(img[b].tolist(), rot[b].tolist())}) == W
        assert len(set(zip(img[b].tolist(), rot[b].tolist()))) == L
        for r in range(0, L, W):
            assert len(set(which[b, r:r + W].tolist())) == W
    assert seen == {0, 1, 2, 3}
    # 10 classes need a second alphabet when the first drawn holds only 2 characters (8 classes)
    for _ in range(30):
        cls = train.episode_classes(ds, 10, 1, gen)
        assert len(set(cls.tolist())) == 10
        al = {int(ds.alphabet[c // 4]) for c in cls.tolist()}
        assert 1 <= len(al) <= 2
    # two alphabets asked for: classes from at most two
    for _ in range(30):
        cls = train.episode_classes(ds, 8, 2, gen)
        assert len({int(ds.alphabet[c // 4]) for c in cls.tolist()}) <= 2
    # impossible: more classes than the set holds -> a clear error
    try:
        train.episode_classes(ds, 49, 1, gen)
        raise AssertionError("expected ValueError")
    except ValueError as e:
        assert "49 classes" in str(e)
    # A = 0 is the reference sampler, draw for draw
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(train.episode_classes(ds, 6, 0, g1), torch.randperm(ds.n_classes, generator=g2)[:6])


def test_augment_scale_multiplies_the_warp_ranges():
    from data import AugmentConfig
    cfg, _ = train.parse_args([])
    assert train.augment_config(cfg) == AugmentConfig()  # default: the warp unchanged
    cfg, _ = train.parse_args(["--augment_scale=1.5"])
    a, d = train.augment_config(cfg), AugmentConfig()
    assert (a.rotate_deg, a.shear, a.aspect) == (d.rotate_deg * 1.5, d.shear * 1.5, d.aspect * 1.5)
    assert (a.p_dilate, a.p_affine) == (d.p_dilate, d.p_affine)
    assert train.augment_config(train.parse_args(["--augment=false"])[0]) is None
    for bad in (["--augment_scale=-0.5"], ["--augment_scale=4"], ["--episode_alphabets=-1"], ["--key_size=4"]):
        try:
            train.parse_args(bad)
            raise AssertionError(f"{bad} accepted")
        except SystemExit as e:
            assert "must be" in str(e)


def test_key_size_travels_with_checkpoints():
    from model import Encoder, ModelConfig, checkpoint_config
    m = Encoder(ModelConfig(key_size=32))
    assert m.keys(torch.rand(2, 28, 28)).shape == (2, 32)
    # final.pt carries model_config; train.py's ckpt.pt carries the training config
    assert checkpoint_config({"model_config": {"channels": [64, 64, 128, 128], "key_size": 32}}).key_size == 32
    assert checkpoint_config({"config": {"channels": "64,64,128,128", "key_size": 256}}).key_size == 256
    assert checkpoint_config({"config": {"channels": "64,64,128,128"}}).key_size == 128  # older checkpoints


def test_shift28_moves_each_input_by_whole_pixels_and_fills_zeros():
    from data import shift28
    gen = torch.Generator().manual_seed(3)
    x = torch.zeros(64, 28, 28)
    x[:, 4:24, 4:24] = torch.rand(64, 20, 20)  # ink only inside the preprocessed box
    y = shift28(x, 2, gen)
    assert y.shape == x.shape
    seen = set()
    for i in range(64):
        # the one (dx, dy) in [-2, 2]^2 that maps input i onto output i
        hits = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)
                if torch.equal(y[i], torch.roll(x[i], (dy, dx), dims=(0, 1)))]
        assert len(hits) == 1
        seen.add(hits[0])
        assert abs(float(y[i].sum() - x[i].sum())) < 1e-4  # no ink lost: the border is wider than the shift
    assert len(seen) > 10  # shifts vary from input to input
    assert torch.equal(shift28(x, 0, gen), x)
    # the same generator state gives the same shifts
    assert torch.equal(shift28(x, 2, torch.Generator().manual_seed(5)), shift28(x, 2, torch.Generator().manual_seed(5)))


def test_shift_px_reaches_the_augmentation_and_is_checked():
    from data import AugmentConfig
    assert train.augment_config(train.parse_args([])[0]).shift_px == 0  # the recipe: no shifts
    assert train.augment_config(train.parse_args(["--shift_px=2"])[0]) == AugmentConfig(shift_px=2)
    for bad in (["--shift_px=-1"], ["--shift_px=5"]):
        with pytest.raises(SystemExit, match="shift_px"):
            train.parse_args(bad)


def test_test_time_shifts_match_the_app():
    """train.shifted / shifted_keys make the key as src/encoder does with keyShifts: a copy moved by
    (dx, dy) has pixel (y, x) = input (y - dy, x - dx), 0 outside, and the key is the renormalised
    mean of the unit keys of the input and its copies (4: right, left, down, up, in that order)."""
    from model import Encoder
    x = torch.rand(3, 1, 28, 28)
    for dx, dy in train.SHIFTS:
        y = train.shifted(x, dx, dy)
        for r in range(28):
            for c in range(28):
                want = x[..., r - dy, c - dx] if 0 <= r - dy < 28 and 0 <= c - dx < 28 else torch.zeros(3, 1)
                assert torch.equal(y[..., r, c], want)
    assert train.SHIFTS[:4] == ((1, 0), (-1, 0), (0, 1), (0, -1))
    torch.manual_seed(0)
    model = Encoder().eval()
    assert torch.allclose(train.shifted_keys(model, x, 0), model.keys(x))
    mean = model.keys(x) + sum(model.keys(train.shifted(x, dx, dy)) for dx, dy in train.SHIFTS[:4])
    assert torch.allclose(train.shifted_keys(model, x, 4), F.normalize(mean, dim=1), atol=1e-6)
    with pytest.raises(ValueError, match="shifts"):
        train.shifted_keys(model, x, 3)


def test_elastic28_wobbles_strokes_locally_and_is_off_by_default():
    from data import AugmentConfig, elastic28
    x = torch.zeros(32, 28, 28)
    x[:, 4:24, 13:15] = 1.0  # a vertical bar inside the preprocessed box
    gen = torch.Generator().manual_seed(3)
    state = gen.get_state()
    assert elastic28(x, 0.0, 4.0, gen) is x and torch.equal(gen.get_state(), state)  # off: no draw, stream unchanged
    y = elastic28(x, 25.0, 4.0, gen)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert torch.allclose(y.flatten(1).amax(1), torch.ones(32))  # renormalised: strongest ink is 1
    assert not torch.allclose(y, x, atol=0.05)
    assert len({tuple(y[i].flatten().round(decimals=3).tolist()) for i in range(32)}) == 32  # each input its own field
    cols = torch.arange(28.0)
    centre = (y.sum(1) * cols).sum(1) / y.sum((1, 2))  # the bar's horizontal centre: moved a little, not away
    assert ((centre - 13.5).abs() < 3).all() and (centre - 13.5).abs().max() > 0.1
    ink = y.sum((1, 2)) / x.sum((1, 2))
    assert ((ink > 0.6) & (ink < 1.6)).all()
    assert torch.equal(elastic28(x, 25.0, 4.0, torch.Generator().manual_seed(5)), elastic28(x, 25.0, 4.0, torch.Generator().manual_seed(5)))
    # a larger alpha moves the strokes further
    far = [float((elastic28(x, a, 4.0, torch.Generator().manual_seed(7)) - x).abs().mean()) for a in (5.0, 25.0, 60.0)]
    assert far[0] < far[1] < far[2]
    assert AugmentConfig().elastic_alpha == 0


def test_elastic_reaches_the_augmentation_and_is_checked():
    from data import AugmentConfig
    assert train.augment_config(train.parse_args([])[0]).elastic_alpha == 0  # the recipe: no elastic distortion
    assert train.augment_config(train.parse_args(["--elastic=25", "--shift_px=2"])[0]) == AugmentConfig(shift_px=2, elastic_alpha=25.0)
    for bad in (["--elastic=-1"], ["--elastic=101"], ["--elastic=nan"]):
        with pytest.raises(SystemExit, match="elastic"):
            train.parse_args(bad)


def test_elastic28_field_is_the_gaussian_blur_of_its_noise():
    """The field is uniform noise blurred by a separable Gaussian (zeros outside the image): the same
    as two 1-D convolutions with zero padding."""
    from data import elastic28
    H = 28
    gen = torch.Generator().manual_seed(11)
    noise = torch.rand(4, 2, H, H, generator=torch.Generator().manual_seed(11)) * 2 - 1
    r, s = 12, 4.0
    t = torch.arange(-r, r + 1.0)
    k = torch.exp(-t ** 2 / (2 * s * s))
    k = k / k.sum()
    f = F.conv2d(F.pad(noise.view(8, 1, H, H), (r, r, 0, 0)), k.view(1, 1, 1, -1))
    f = F.conv2d(F.pad(f, (0, 0, r, r)), k.view(1, 1, -1, 1)).view(4, 2, H, H) * 10.0
    x = torch.zeros(4, H, H)
    x[:, 6:22, 6:22] = torch.rand(4, 16, 16)
    ys, xs = torch.meshgrid(torch.arange(H + 0.0), torch.arange(H + 0.0), indexing="ij")
    grid = torch.stack([(2 * (xs + f[:, 0]) + 1) / H - 1, (2 * (ys + f[:, 1]) + 1) / H - 1], -1)
    want = F.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]
    want = want / want.flatten(1).amax(1)[:, None, None]
    assert torch.allclose(elastic28(x, 10.0, s, gen), want, atol=1e-5)

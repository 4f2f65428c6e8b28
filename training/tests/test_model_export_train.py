import dataclasses
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

import train
from data import Characters, Dataset
from export_tfjs import export, folded_blocks, load_model, training_of
from make_fixtures import synthetic_drawing
from model import Encoder, ModelConfig


def test_shapes_and_unit_keys():
    m = Encoder(ModelConfig()).eval()
    x = torch.rand(5, 1, 28, 28)
    assert m(x).shape == (5, 128)
    torch.testing.assert_close(m.keys(x).norm(dim=1), torch.ones(5))
    assert m(x[:, 0]).shape == (5, 128)  # [B, 28, 28] accepted too


def tfjs_forward(model_dir, x):
    """Run the exported model.json + weights.bin with plain torch ops, as TF.js would (NHWC)."""
    doc = json.load(open(os.path.join(model_dir, "model.json")))
    raw = np.fromfile(os.path.join(model_dir, "weights.bin"), dtype="<f4")
    weights, off = {}, 0
    for spec in doc["weightsManifest"][0]["weights"]:
        n = int(np.prod(spec["shape"]))
        weights[spec["name"]] = torch.from_numpy(raw[off:off + n].reshape(spec["shape"]).copy())
        off += n
    assert off == raw.size, "every byte of the shard is accounted for"
    h = x.permute(0, 2, 3, 1)  # NHWC
    for layer in doc["modelTopology"]["config"]["layers"]:
        cls, cfg = layer["class_name"], layer["config"]
        if cls == "Conv2D":
            k = weights[cfg["name"] + "/kernel"].permute(3, 2, 0, 1)  # HWIO -> OIHW
            h = F.relu(F.conv2d(h.permute(0, 3, 1, 2), k, weights[cfg["name"] + "/bias"], padding=1)).permute(0, 2, 3, 1)
        elif cls == "MaxPooling2D":
            h = F.max_pool2d(h.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
        elif cls == "Flatten":
            h = h.reshape(h.shape[0], -1)
        elif cls == "Dense":
            h = h @ weights[cfg["name"] + "/kernel"] + weights[cfg["name"] + "/bias"]
    return h


def test_export_reload_round_trip(tmp_path):
    torch.manual_seed(0)
    m = Encoder(ModelConfig())
    for mod in m.modules():  # non-trivial BatchNorm statistics, so the folding is exercised
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.1, 0.1)
    m.eval()
    export(m, str(tmp_path))
    # the bytes written are exactly the folded weights
    raw = np.fromfile(tmp_path / "weights.bin", dtype="<f4")
    first = folded_blocks(m)[0][0]
    np.testing.assert_array_equal(raw[:first.size], first.flatten())
    x = torch.rand(6, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(tfjs_forward(str(tmp_path), x), m(x), atol=1e-5, rtol=1e-5)


def test_export_records_what_trained_the_model(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"config": {"objective": "memory", "trainval": True, "seed": 2, "lr": 0.002}, "minutes": 12.5}))
    t = training_of(str(run / "final.pt"))
    assert t["objective"] == "memory" and t["trainval"] is True and t["seed"] == 2 and t["minutes"] == 12.5
    assert t["alphabets"] == "images_background (train + validation)" and "lr" not in t
    assert training_of(str(tmp_path / "elsewhere" / "final.pt")) is None and training_of(None) is None
    export(Encoder(ModelConfig()).eval(), str(tmp_path / "out"), training=t)
    meta = json.loads((tmp_path / "out" / "model.json").read_text())["userDefinedMetadata"]
    assert meta["training"]["trainval"] is True  # what scripts/calibrate-near.ts reads to refuse it


def synthetic_characters(n_chars=12, per_char=8, seed=0) -> Characters:
    """Classes of synthetic stroke drawings: each class a template, drawers jitter its width."""
    imgs, chars = [], []
    for c in range(n_chars):
        for d in range(per_char):
            rng = np.random.default_rng(1000 + c)  # same strokes for every drawer of a class
            img = synthetic_drawing(rng, 105, 105, width=2.0 + d % 3)
            imgs.append((img < 0.5).astype(np.uint8))
            chars.append(c)
    return Characters(np.stack(imgs), np.asarray(chars), [f"Synth/character{c:02d}" for c in range(n_chars)])


def test_short_training_run_lowers_the_loss():
    torch.manual_seed(0)
    chars = synthetic_characters()
    ds = Dataset(chars, np.arange(12))
    cfg = train.TrainConfig(batch_size=32, lr=3e-3, augment=False, device="cpu")
    model = Encoder(ModelConfig())
    head = torch.nn.Parameter(torch.randn(ds.n_classes, 128) * 0.01)
    opt = torch.optim.Adam(list(model.parameters()) + [head], lr=cfg.lr)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(30):
        loss = train.warmup_loss(model, head, ds, cfg, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def test_episode_loss_is_finite_and_trains_the_encoder():
    torch.manual_seed(0)
    ds = Dataset(synthetic_characters(n_chars=10, per_char=6), np.arange(10))
    cfg = train.TrainConfig(episode_batch=4, episode_width=3, episode_length=8, augment=True, device="cpu")
    from memory import Memory, MemoryConfig
    model = Encoder(ModelConfig())
    mem = Memory(MemoryConfig(memory_size=cfg.episode_batch * cfg.episode_length, k=cfg.k))
    gen = torch.Generator().manual_seed(0)
    loss = train.episode_loss(model, ds, cfg, gen, mem)
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    assert model.features[0][0].weight.grad.abs().sum() > 0


def test_trainval_adds_the_validation_alphabets_and_nothing_else():
    names = ["Latin/character01", "Hebrew/character01", "Greek/character01", "Early_Aramaic/character01", "Hebrew/character02"]
    chars = Characters(np.zeros((0, 105, 105), np.uint8), np.zeros(0, np.int64), names)
    tr, va = train.training_ids(chars, trainval=False)
    assert sorted(tr.tolist()) == [0, 2] and sorted(va.tolist()) == [1, 3, 4]
    tr2, va2 = train.training_ids(chars, trainval=True)
    assert tr2.tolist() == [0, 1, 2, 3, 4] and va2.tolist() == va.tolist()
    cfg, _ = train.parse_args(["--trainval=true", "--objective=memory"])
    assert cfg.trainval is True and train.parse_args([])[0].trainval is False


def test_wider_encoder_trains_exports_and_reloads_with_its_shape(tmp_path):
    cfg, _ = train.parse_args(["--channels=16,24,32,40"])
    assert cfg.channels == "16,24,32,40"
    for bad in ("64,64,128", "64,64,128,0", "a,b,c,d"):
        try:
            train.parse_args([f"--channels={bad}"])
        except SystemExit as e:
            assert "--channels" in str(e)
        else:
            raise AssertionError(f"--channels={bad} accepted")
    torch.manual_seed(0)
    m = Encoder(ModelConfig(channels=(16, 24, 32, 40))).eval()
    ck = tmp_path / "final.pt"
    torch.save(dict(model=m.state_dict(), model_config=dataclasses.asdict(m.cfg)), ck)
    back = load_model(str(ck))  # the shape comes from the checkpoint, not the default
    assert back.cfg.channels == (16, 24, 32, 40)
    export(back, str(tmp_path / "out"))
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(tfjs_forward(str(tmp_path / "out"), x), m(x), atol=1e-5, rtol=1e-5)


def test_few_shot_episodes_depend_on_the_seed_only():
    """paired_val.py compares encoders episode by episode: the episodes must not depend on the keys."""
    ds = Dataset(synthetic_characters(n_chars=10, per_char=6), np.arange(10))
    n = len(ds.char)
    perfect = torch.zeros(4, n, 128)  # one direction per (character, rotation): every query right
    for r in range(4):
        perfect[r, torch.arange(n), (ds.char * 4 + r) % 128] = 1.0
    noise = F.normalize(torch.randn(4, n, 128, generator=torch.Generator().manual_seed(1)), dim=-1)
    right = train.few_shot_correct(perfect, ds, 5, 1, 30, seed=3)
    assert right.tolist() == [5] * 30
    a = train.few_shot_correct(noise, ds, 5, 1, 30, seed=3)
    mixed = noise.clone()
    mixed[:, :n // 2] = perfect[:, :n // 2]  # better keys for some characters only
    b = train.few_shot_correct(mixed, ds, 5, 1, 30, seed=3)
    assert (a == train.few_shot_correct(noise, ds, 5, 1, 30, seed=3)).all()  # same seed, same episodes
    assert b.sum() > a.sum()
    assert abs(train.few_shot_accuracy(noise, ds, 5, 1, 30, seed=3) - 100 * a.mean() / 5) < 1e-9

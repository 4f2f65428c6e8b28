import dataclasses
import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import train
from data import Characters, Dataset
from export_tfjs import export, folded_blocks, load_model, training_of
from make_fixtures import synthetic_drawing
from memory import Memory, MemoryConfig
from model import Encoder, ModelConfig, load_weights


def test_shapes_and_unit_keys():
    m = Encoder(ModelConfig()).eval()
    x = torch.rand(5, 1, 28, 28)
    assert m(x).shape == (5, 128)
    torch.testing.assert_close(m.keys(x).norm(dim=1), torch.ones(5))
    assert m(x[:, 0]).shape == (5, 128)  # [B, 28, 28] accepted too


def test_key_dropout_drops_the_key_while_training_only():
    # the reference code's dropout: keep_prob 0.3 on the embedding (the key before its normalisation)
    torch.manual_seed(0)
    m = Encoder(ModelConfig(key_dropout=0.7))
    x = torch.rand(64, 1, 28, 28)
    m.train()
    zero = (m(x) == 0).float().mean().item()
    assert 0.6 < zero < 0.8, zero
    m.eval()
    plain = Encoder(ModelConfig()).eval()
    plain.load_state_dict(m.state_dict())  # no parameters of its own: the same weights export as before
    torch.testing.assert_close(m(x), plain(x))
    cfg, _ = train.parse_args(["--key_dropout=0.7"])
    assert cfg.key_dropout == 0.7
    with pytest.raises(SystemExit, match="key_dropout must be in"):
        from model import training_shape
        training_shape("64,64,128,128", "", 128, 0.0, 1.0)


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
    topo = doc["modelTopology"]

    def apply(cls, cfg, h):
        if cls == "Conv2D":
            k = weights[cfg["name"] + "/kernel"].permute(3, 2, 0, 1)  # HWIO -> OIHW
            return F.relu(F.conv2d(h.permute(0, 3, 1, 2), k, weights[cfg["name"] + "/bias"], padding=1)).permute(0, 2, 3, 1)
        if cls == "MaxPooling2D":
            return F.max_pool2d(h.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
        if cls == "Flatten":
            return h.reshape(h.shape[0], -1)
        if cls == "Dense":
            return h @ weights[cfg["name"] + "/kernel"] + weights[cfg["name"] + "/bias"]
        raise AssertionError(f"unexpected layer {cls}")

    h = x.permute(0, 2, 3, 1)  # NHWC
    if topo["class_name"] == "Sequential":
        for layer in topo["config"]["layers"]:
            h = apply(layer["class_name"], layer["config"], h)
        return h
    # a functional model (an ensemble): layers in order, each fed by its inbound node(s)
    assert topo["class_name"] == "Model"
    out = {}
    for layer in topo["config"]["layers"]:
        ins = [out[n[0]] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else None
        if layer["class_name"] == "InputLayer":
            out[layer["name"]] = h
        elif layer["class_name"] == "Concatenate":
            out[layer["name"]] = torch.cat(ins, dim=-1)
        else:
            out[layer["name"]] = apply(layer["class_name"], layer["config"], ins[0])
    return out[topo["config"]["output_layers"][0][0]]


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


def test_ensemble_export_is_the_members_side_by_side(tmp_path):
    from export_tfjs import ensemble_training, parity_fixture
    torch.manual_seed(1)
    members = [Encoder(ModelConfig()).eval() for _ in range(2)]
    doc = export(members, str(tmp_path), name="pair",
                 training=ensemble_training([{"run": "a", "trainval": False}, {"run": "b", "trainval": True}]))
    meta = doc["userDefinedMetadata"]
    assert doc["modelTopology"]["class_name"] == "Model"
    assert meta["key_parts"] == 2 and meta["key_size"] == 256
    assert meta["training"]["trainval"] is True and meta["training"]["run"] == "a + b"  # one member saw validation
    names = [w["name"] for w in doc["weightsManifest"][0]["weights"]]
    assert len(names) == len(set(names)) and names[0].startswith("m1_") and names[-1].startswith("m2_")
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(tfjs_forward(str(tmp_path), x), torch.cat([m(x) for m in members], 1), atol=1e-5, rtol=1e-5)
    parity_fixture(members, str(tmp_path / "parity.json"), str(tmp_path))
    fx = json.load(open(tmp_path / "parity.json"))
    keys = np.array(fx["keys"])
    np.testing.assert_allclose(np.linalg.norm(keys[:, :128], axis=1), 0.5 ** 0.5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(keys[:, 128:], axis=1), 0.5 ** 0.5, atol=1e-6)
    # a single encoder still exports as before: a Sequential model without key_parts
    single = export(members[0], str(tmp_path / "one"))
    assert single["modelTopology"]["class_name"] == "Sequential" and "key_parts" not in single["userDefinedMetadata"]


def test_an_earlier_export_joins_an_ensemble_verbatim(tmp_path):
    from export_tfjs import TfjsMember
    torch.manual_seed(2)
    a, b = Encoder(ModelConfig()).eval(), Encoder(ModelConfig()).eval()
    for mod in a.modules():  # non-trivial BatchNorm, so the replica must undo nothing but the folding
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
    export(a, str(tmp_path / "a"), training={"run": "runs/a", "trainval": True})
    member = TfjsMember(str(tmp_path / "a"))
    assert member.training == {"run": "runs/a", "trainval": True}
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(member.model(x), a(x), atol=1e-5, rtol=1e-5)  # the replica computes the export
    export([a, b], str(tmp_path / "from_pt"), name="pair")
    export([member, b], str(tmp_path / "from_tfjs"), name="pair")
    # the same bytes and the same topology whichever way the member came in
    assert (tmp_path / "from_pt" / "weights.bin").read_bytes() == (tmp_path / "from_tfjs" / "weights.bin").read_bytes()
    assert json.load(open(tmp_path / "from_pt" / "model.json"))["modelTopology"] == json.load(open(tmp_path / "from_tfjs" / "model.json"))["modelTopology"]
    (tmp_path / "a" / "weights.bin").write_bytes(b"\0" * 12)  # damaged: refused with the folder named
    with pytest.raises(SystemExit, match="weights.bin holds 3 floats"):
        TfjsMember(str(tmp_path / "a"))


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
    model = Encoder(ModelConfig())
    gen = torch.Generator().manual_seed(0)
    loss = train.episode_loss(model, ds, cfg, gen)
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


def test_wider_encoder_exports_and_reloads_with_its_shape(tmp_path):
    cfg, _ = train.parse_args(["--channels=16,24,32,40"])
    assert cfg.channels == "16,24,32,40"
    for bad in ("64,64,128", "64,64,128,0", "a,b,c,d"):
        with pytest.raises(SystemExit, match="--channels"):
            train.parse_args([f"--channels={bad}"])
    torch.manual_seed(0)
    m = Encoder(ModelConfig(channels=(16, 24, 32, 40))).eval()
    final = tmp_path / "final.pt"  # as train.py writes final.pt
    torch.save(dict(model=m.state_dict(), model_config=dataclasses.asdict(m.cfg)), final)
    back = load_model(str(final))  # the shape comes from the checkpoint, not the default
    assert back.cfg.channels == (16, 24, 32, 40)
    export(back, str(tmp_path / "out"))
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(tfjs_forward(str(tmp_path / "out"), x), m(x), atol=1e-5, rtol=1e-5)
    # train.py's ckpt.pt has no model_config but its training config names the channels
    ck = tmp_path / "ckpt.pt"
    torch.save(dict(model=m.state_dict(), config=dataclasses.asdict(cfg)), ck)
    assert load_model(str(ck)).cfg.channels == (16, 24, 32, 40)
    # a checkpoint from before either: the default shape, loaded as before
    old = tmp_path / "old.pt"
    torch.save(dict(model=Encoder(ModelConfig()).state_dict()), old)
    assert load_model(str(old)).cfg.channels == ModelConfig().channels
    # a shape that does not match the model it is loaded into: a clear message, the model unchanged
    default = Encoder(ModelConfig())
    before = {k: v.clone() for k, v in default.state_dict().items()}
    with pytest.raises(SystemExit, match="filters 16,24,32,40, .* this one filters 64,64,128,128"):
        load_weights(default, torch.load(final), "--init final.pt")
    assert all(torch.equal(before[k], v) for k, v in default.state_dict().items())
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match="cannot read it"):
        load_model(str(tmp_path / "junk.pt"))


def test_deeper_encoder_trains_exports_and_reloads_with_its_pools(tmp_path):
    from export_tfjs import TfjsMember
    argv = ["--channels=8,8,16,16,16,16", "--pools=1,1,0,1,0,0"]
    cfg, _ = train.parse_args(argv)
    assert (cfg.channels, cfg.pools) == ("8,8,16,16,16,16", "1,1,0,1,0,0")
    for bad, why in ((["--channels=8,8,16,16,16"], "give --pools"), (["--channels=8,8,16", "--pools=1,1"], "--pools must be 3"),
                     (["--channels=8,8,16", "--pools=1,2,0"], "--pools must be 3"), (["--channels=8,8,16,16,16", "--pools=1,1,1,1,1"], "vanish")):
        with pytest.raises(SystemExit, match=why):
            train.parse_args(bad)
    shape = dict(channels=(8, 8, 16, 16, 16, 16), pools=(True, True, False, True, False, False))
    torch.manual_seed(1)
    m = Encoder(ModelConfig(**shape))
    assert len(m.features) == 6 and m.flat_side == 3 and m.fc.in_features == 3 * 3 * 16
    for mod in m.modules():  # non-trivial BatchNorm, so the folding of every layer is exercised
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
    m.eval()
    final = tmp_path / "final.pt"
    torch.save(dict(model=m.state_dict(), model_config=dataclasses.asdict(m.cfg)), final)
    back = load_model(str(final))
    assert (back.cfg.channels, back.cfg.pools) == (shape["channels"], shape["pools"])
    doc = export(back, str(tmp_path / "out"))
    kinds = [l["class_name"] for l in doc["modelTopology"]["config"]["layers"]]
    assert kinds == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D", "Conv2D", "MaxPooling2D", "Conv2D", "Conv2D",
                     "Flatten", "Dense"]
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(tfjs_forward(str(tmp_path / "out"), x), m(x), atol=1e-5, rtol=1e-5)
        # an exported deeper encoder joins an ensemble with its own shape read back from the layers
        member = TfjsMember(str(tmp_path / "out"))
        assert member.cfg.pools == shape["pools"]
        torch.testing.assert_close(member.model(x), m(x), atol=1e-5, rtol=1e-5)
    # train.py's ckpt.pt: the shape comes from its training config, pools included
    ck = tmp_path / "ckpt.pt"
    torch.save(dict(model=m.state_dict(), config=dataclasses.asdict(cfg)), ck)
    assert load_model(str(ck)).cfg.pools == shape["pools"]
    # the same filters with other pools is another encoder: refused, the model unchanged
    other = Encoder(ModelConfig(channels=shape["channels"], pools=(True, True, True, False, False, False)))
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(SystemExit, match="pools 1,1,0,1,0,0 .* this one filters 8,8,16,16,16,16, pools 1,1,1,0,0,0"):
        load_weights(other, torch.load(final), "--init final.pt")
    assert all(torch.equal(before[k], v) for k, v in other.state_dict().items())


def old_few_shot_accuracy(keys, ds, n_way, k_shot, episodes, seed):
    """train.few_shot_accuracy as it was before the episodes became their own function (commit 16d9cfe)."""
    rng = np.random.default_rng(seed)
    correct = total = 0
    mem = Memory(MemoryConfig(memory_size=n_way * k_shot, key_size=keys.shape[-1], k=1, age_noise=0))
    for _ in range(episodes):
        mem.clear()
        classes = rng.choice(ds.n_chars * 4, n_way, replace=False)
        sup, qry = [], []
        for label, c in enumerate(classes):
            imgs = ds.by_char[c // 4].numpy()
            pick = rng.choice(imgs, k_shot + 1, replace=False)
            sup += [(keys[c % 4, i], label) for i in pick[:k_shot]]
            qry.append((keys[c % 4, pick[k_shot]], label))
        order = rng.permutation(len(sup))
        mem.write(torch.stack([sup[i][0] for i in order]), torch.tensor([sup[i][1] for i in order]))
        pred = mem.query(torch.stack([q for q, _ in qry]))["prediction"]
        correct += int((pred == torch.tensor([l for _, l in qry])).sum())
        total += len(qry)
    return 100.0 * correct / total


def test_few_shot_episodes_are_the_validation_episodes_and_ignore_the_keys():
    """paired_val.py compares encoders episode by episode: the episodes are drawn without the keys,
    and they are the ones train.py validated on before (same figures as the old code)."""
    ds = Dataset(synthetic_characters(n_chars=10, per_char=6), np.arange(10))
    n = len(ds.char)
    noise = F.normalize(torch.randn(4, n, 128, generator=torch.Generator().manual_seed(1)), dim=-1)
    for ways, shots in ((5, 1), (5, 3)):
        assert train.few_shot_accuracy(noise, ds, ways, shots, 40, seed=3) == pytest.approx(old_few_shot_accuracy(noise, ds, ways, shots, 40, seed=3))
    eps = list(train.few_shot_episodes(ds, 5, 3, 20, seed=3))
    assert eps == list(train.few_shot_episodes(ds, 5, 3, 20, seed=3))  # the seed alone decides
    assert eps != list(train.few_shot_episodes(ds, 5, 3, 20, seed=4))
    for sup, qry in eps:  # 5 classes, 3 supports each, one query each that is not a support
        assert sorted(l for _, _, l in sup) == sorted(list(range(5)) * 3) and [l for _, _, l in qry] == list(range(5))
        for r, i, l in qry:
            assert (r, i, l) not in sup
            assert all(int(ds.char[i]) == int(ds.char[j]) and r == rr for rr, j, ll in sup if ll == l)
    perfect = torch.zeros(4, n, 128)  # one direction per (character, rotation): every query right
    for r in range(4):
        perfect[r, torch.arange(n), (ds.char * 4 + r) % 128] = 1.0
    assert train.few_shot_correct(perfect, ds, 5, 1, 30, seed=3).tolist() == [5] * 30


def test_paired_val_refuses_what_it_cannot_compare_fairly(tmp_path):
    import paired_val
    sd = Encoder(ModelConfig()).state_dict()
    ok = tmp_path / "ok.pt"
    torch.save(dict(model=sd, config={"trainval": False}), ok)  # like train.py's ckpt.pt
    paired_val.held_out_check(str(ok))
    seen = tmp_path / "seen.pt"
    torch.save(dict(model=sd, config={"trainval": True}), seen)
    with pytest.raises(SystemExit, match="--trainval"):
        paired_val.held_out_check(str(seen))
    run = tmp_path / "run"
    run.mkdir()
    torch.save(dict(model=sd, model_config={}), run / "final.pt")  # like final.pt: the config is in summary.json
    with pytest.raises(SystemExit, match="cannot tell"):
        paired_val.held_out_check(str(run / "final.pt"))
    (run / "summary.json").write_text(json.dumps({"config": {"trainval": True}}))
    with pytest.raises(SystemExit, match="--trainval"):
        paired_val.held_out_check(str(run / "final.pt"))
    for args, msg in ((["a.pt"], "usage"), ([str(ok), str(ok), "--episodes=1"], "--episodes"), ([str(ok), str(ok), "--seed=x"], "--seed"),
                      ([str(ok), str(tmp_path / "missing.pt")], "no checkpoint"), ([str(ok), str(ok), "--json=/no/such/dir/x.json"], "--json"),
                      ([str(ok), str(seen)], "--trainval"), ([str(ok), f"{ok}+{seen}"], "--trainval"),
                      ([str(ok), f"{ok}+{tmp_path / 'missing.pt'}"], "no checkpoint"), ([str(ok), str(ok), "--shifts=3"], "--shifts")):
        with pytest.raises(SystemExit, match=msg):
            paired_val.main(args)
    assert paired_val.run_name("/x/training/runs/long/mem-skip-w60/final.pt") == "long/mem-skip-w60"
    assert paired_val.run_name("/x/training/runs/gpu/a/final.pt+/x/training/runs/long/b/final.pt") == "gpu/a + long/b"


def test_paired_val_joins_networks_as_the_app_does(tmp_path):
    """'A.pt+B.pt' is the ensemble key of src/encoder: each network's unit key (with the same test-time
    shifts), side by side / sqrt(2): unit length, and its cosines are the mean of the networks' cosines."""
    import paired_val
    ds = Dataset(synthetic_characters(n_chars=6, per_char=4), np.arange(6))
    paths = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        p = tmp_path / f"n{seed}.pt"
        torch.save(dict(model=Encoder(ModelConfig()).state_dict(), config={"trainval": False}), p)
        paths.append(str(p))
    for shifts in (0, 4):
        a, b = (paired_val.joined_keys(p, ds, shifts) for p in paths)
        ab = paired_val.joined_keys("+".join(paths), ds, shifts)
        assert ab.shape == (4, len(ds.char), 256)
        assert torch.allclose(ab.norm(dim=-1), torch.ones(4, len(ds.char)), atol=1e-5)
        cos = lambda k: k[0] @ k[0].T  # noqa: E731
        assert torch.allclose(cos(ab), (cos(a) + cos(b)) / 2, atol=1e-5)
    assert not torch.allclose(paired_val.joined_keys(paths[0], ds, 4), paired_val.joined_keys(paths[0], ds, 0))


def test_centring_folds_the_training_mean_into_the_last_bias(tmp_path):
    """--center=true (bench/centering-rule.md): the exported network outputs its embedding minus the mean
    over the images it trained on (training characters x 4 rotations); the validation alphabets count
    only for a --trainval network; an earlier export is centred to the same bytes; never twice."""
    from export_tfjs import TfjsMember, center
    rng = np.random.default_rng(3)
    names = ["Latin/character01", "Latin/character02", "Hebrew/character01"]
    char = np.repeat(np.arange(3), 4)
    ink = np.zeros((len(char), 105, 105), np.uint8)
    for i in range(len(char)):  # a random rectangle of ink per drawing
        y, x = rng.integers(10, 60, 2)
        ink[i, y:y + rng.integers(5, 40), x:x + rng.integers(5, 40)] = 1
    chars = Characters(ink, char, names)
    torch.manual_seed(4)
    base = Encoder(ModelConfig()).eval()
    export(base, str(tmp_path / "plain"), training={"run": "runs/x", "trainval": False})

    def outputs(model, char_ids):
        ds = Dataset(chars, np.asarray(char_ids))
        idx = torch.arange(len(ds.char))
        with torch.no_grad():
            return torch.cat([model(ds.images(idx, torch.full_like(idx, r), None, None)) for r in range(4)])

    m = Encoder(ModelConfig()).eval()
    m.load_state_dict(base.state_dict())
    info = center(m, {"trainval": False}, chars)
    assert info["characters"] == 2 and info["images"] == 4 * 8  # Latin only, 4 rotations
    before, after = outputs(base, [0, 1]), outputs(m, [0, 1])
    assert before.mean(0).norm() > 1e-3
    torch.testing.assert_close(after.mean(0), torch.zeros(128), atol=1e-5, rtol=0)  # centred on its training images
    torch.testing.assert_close(after, before - before.mean(0), atol=1e-5, rtol=1e-5)  # a shift, nothing else
    assert outputs(m, [2]).mean(0).norm() > 1e-3  # the validation alphabet did not count

    tv = Encoder(ModelConfig()).eval()
    tv.load_state_dict(base.state_dict())
    assert center(tv, {"trainval": True}, chars)["characters"] == 3
    torch.testing.assert_close(outputs(tv, [0, 1, 2]).mean(0), torch.zeros(128), atol=1e-5, rtol=0)

    # an earlier export centred as a tfjs: member writes the bytes the PyTorch path writes
    member = TfjsMember(str(tmp_path / "plain"))
    center(member, member.training, chars)
    other = Encoder(ModelConfig()).eval()
    export([m, other], str(tmp_path / "from_pt"), name="pair")
    export([member, other], str(tmp_path / "from_tfjs"), name="pair", key_center=[info])
    a = np.fromfile(tmp_path / "from_pt" / "weights.bin", dtype="<f4")
    b = np.fromfile(tmp_path / "from_tfjs" / "weights.bin", dtype="<f4")
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert json.load(open(tmp_path / "from_tfjs" / "model.json"))["userDefinedMetadata"]["key_center"][0]["characters"] == 2
    export(m, str(tmp_path / "centred"), training={"run": "runs/x", "trainval": False}, key_center=[info])
    with pytest.raises(SystemExit, match="already centred"):
        center(TfjsMember(str(tmp_path / "centred")), {"trainval": False}, chars)
    with pytest.raises(SystemExit, match="which images"):
        center(Encoder(ModelConfig()).eval(), None, chars)


def test_embed_all_widths_average_the_thicker_pen_copies():
    """train.embed_all's `widths` (bench/tta-width-rule.md): (0,) is the shipped key (shifted_keys of the
    drawing as drawn), (0, 1) the renormalised sum of the unit keys of both pen widths' 5 copies."""
    ds = Dataset(synthetic_characters(n_chars=4, per_char=3), np.arange(4))
    torch.manual_seed(1)
    model = Encoder(ModelConfig()).eval()
    idx = torch.arange(len(ds.char))
    plain, thick = (ds.images(idx, torch.zeros_like(idx), None, None, width=w) for w in (0, 1))
    assert not torch.equal(plain, thick)
    shipped, averaged = (train.embed_all(model, ds, "cpu", shifts=4, widths=w)[0] for w in ((0,), (0, 1)))
    model.eval()  # embed_all hands the model back in training mode
    assert torch.allclose(shipped, train.shifted_keys(model, plain, 4), atol=1e-6)
    both = torch.nn.functional.normalize(train.key_sum(model, plain, 4) + train.key_sum(model, thick, 4), dim=1)
    assert torch.allclose(averaged, both, atol=1e-6) and not torch.allclose(averaged, shipped, atol=1e-4)


def test_tta_offsets_shift4_is_the_shipped_key_and_bad_input_is_refused(tmp_path):
    """tta_offsets_paired.py (bench/tta-offsets-rule.md): its `shift4` keys are the app's 4 test-time shifts
    (train.shifted_keys with 4), the other offset sets give other unit keys, and it refuses what paired_val refuses."""
    import tta_offsets_paired as tta
    ds = Dataset(synthetic_characters(n_chars=4, per_char=3), np.arange(4))
    torch.manual_seed(1)
    model = Encoder(ModelConfig())
    ref = train.embed_all(model, ds, "cpu", shifts=4)
    assert torch.allclose(train.embed_all(model, ds, "cpu", shifts=tta.VARIANTS["shift4"]), ref, atol=1e-6)
    for v in ("cross2", "diag1", "cross12"):
        k = train.embed_all(model, ds, "cpu", shifts=tta.VARIANTS[v])
        assert torch.allclose(k.norm(dim=-1), torch.ones(4, len(ds.char)), atol=1e-5) and not torch.allclose(k, ref, atol=1e-4)
    seen = tmp_path / "seen.pt"
    torch.save(dict(model=model.state_dict(), config={"trainval": True}), seen)
    ok = tmp_path / "ok.pt"
    torch.save(dict(model=model.state_dict(), config={"trainval": False}), ok)
    for args, msg in (([], "usage"), ([str(seen)], "--trainval"), ([str(ok), "--episodes=x"], "--episodes"), ([str(ok), "--shifts=4"], "unknown")):
        with pytest.raises(SystemExit, match=msg):
            tta.main(args)

"""Export the encoder to the TensorFlow.js layers format (model.json + one binary shard).

    /usr/bin/python3 training/export_tfjs.py --ckpt=training/runs/final/mem-skip-w60-7k-trainval/final.pt \
        --out=models/omniglot-conv4-memory
    /usr/bin/python3 training/export_tfjs.py --ckpt=training/runs/omniglot-conv4/final.pt --out=models/omniglot-conv4
    /usr/bin/python3 training/export_tfjs.py --ckpt=A/final.pt,B/final.pt --out=DIR   # an ensemble: one functional model
    /usr/bin/python3 training/export_tfjs.py --ckpt=tfjs:DIR_A,B/final.pt --out=DIR   # a member from an earlier export
    /usr/bin/python3 training/export_tfjs.py --ckpt=... --out=DIR --center=true   # keys centred (bench/centering-rule.md)

Written directly (no converter): a Keras `Sequential` topology that tfjs-layers deserialises,
and little-endian float32 weights in manifest order. BatchNorm (inference statistics) is folded
into the preceding convolution in float64: conv -> relu -> (max-pool) per block, then flatten
and dense. PyTorch flattens [C, H, W] and TF.js [H, W, C], so the dense kernel's rows are
permuted to match. Also writes the encoder's parity fixture, by default
tests/fixtures/encoder_parity_<folder>.json (`--parity=PATH`, or `none`): embeddings PyTorch
computed (unfolded model, eval mode) for synthetic inputs, which tests/unit/encoder.test.ts checks;
every bundled encoder must have one (the legacy omniglot-conv4's is tests/fixtures/encoder_parity.json).

`--center=true` subtracts from each network's output the mean raw embedding of the images it was
trained on (its training characters x 4 rotations, no augmentation; never an evaluation image),
folded into the last layer's bias: SimpleShot's centring before L2 normalisation
(bench/centering-rule.md). The export then outputs the centred embedding; nothing else changes.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Encoder, ModelConfig, checkpoint_config, load_weights, parameter_count  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def folded_blocks(model: Encoder):
    """-> list of (kernel HWIO float32, bias float32, pool) with BatchNorm folded in."""
    out = []
    for blk in model.features:
        conv, bn = blk[0], blk[1]
        pool = any(isinstance(m, torch.nn.MaxPool2d) for m in blk)
        w = conv.weight.detach().double()
        b = conv.bias.detach().double()
        scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.detach().double() + bn.eps)
        w = w * scale[:, None, None, None]
        b = (b - bn.running_mean.detach().double()) * scale + bn.bias.detach().double()
        out.append((w.permute(2, 3, 1, 0).numpy().astype(np.float32), b.numpy().astype(np.float32), pool))
    return out


def dense_kernel(model: Encoder) -> np.ndarray:
    c = model.cfg.channels[-1]
    s = model.flat_side
    w = model.fc.weight.detach().double().view(model.cfg.key_size, c, s, s)  # [out, C, H, W]
    return w.permute(2, 3, 1, 0).reshape(s * s * c, model.cfg.key_size).numpy().astype(np.float32)


def training_of(ckpt: str | None) -> dict | None:
    """What trained a checkpoint, from the summary.json train.py writes beside it (None: unknown)."""
    if not ckpt:
        return None
    path = os.path.join(os.path.dirname(os.path.abspath(ckpt)), "summary.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        s = json.load(f)
    cfg = s.get("config", {})
    keep = ("objective", "seed", "trainval", "missing_positive", "warmup_steps", "memory_steps", "episode_batch",
            "episode_width", "episode_length", "episode_alphabets", "init", "channels", "pools", "key_size", "dropout",
            "augment", "augment_scale", "shift_px", "elastic")
    out = {k: cfg[k] for k in keep if k in cfg}
    out["run"] = os.path.relpath(os.path.dirname(os.path.abspath(ckpt)), ROOT)
    if "minutes" in s:
        out["minutes"] = s["minutes"]
    # the classes it learned from: a model that saw the validation alphabets must not be calibrated or
    # chosen on them (scripts/calibrate-near.ts reads this)
    out["alphabets"] = "images_background (train + validation)" if cfg.get("trainval") else "images_background without the validation alphabets"
    return out


def tower(model: Encoder, prefix: str = "") -> tuple[list, list, list]:
    """One encoder as TF.js layers (BatchNorm folded), their weight specs and weight arrays."""
    layers, weights, blobs = [], [], []
    size = model.cfg.image_size
    for i, (kernel, bias, pool) in enumerate(folded_blocks(model), start=1):
        cfg = dict(name=f"{prefix}conv{i}", trainable=True, dtype="float32", filters=int(kernel.shape[3]),
                   kernel_size=[3, 3], strides=[1, 1], padding="same", data_format="channels_last",
                   dilation_rate=[1, 1], activation="relu", use_bias=True)
        if i == 1 and not prefix:
            cfg["batch_input_shape"] = [None, size, size, 1]
        layers.append(dict(class_name="Conv2D", config=cfg))
        weights += [dict(name=f"{prefix}conv{i}/kernel", shape=list(kernel.shape), dtype="float32"),
                    dict(name=f"{prefix}conv{i}/bias", shape=list(bias.shape), dtype="float32")]
        blobs += [kernel, bias]
        if pool:
            layers.append(dict(class_name="MaxPooling2D", config=dict(
                name=f"{prefix}pool{i}", trainable=True, dtype="float32", pool_size=[2, 2], strides=[2, 2],
                padding="valid", data_format="channels_last")))
    layers.append(dict(class_name="Flatten", config=dict(name=f"{prefix}flatten", trainable=True, dtype="float32",
                                                         data_format="channels_last")))
    dk = dense_kernel(model)
    db = model.fc.bias.detach().numpy().astype(np.float32)
    layers.append(dict(class_name="Dense", config=dict(name=f"{prefix}key", trainable=True, dtype="float32",
                                                       units=int(dk.shape[1]), activation="linear", use_bias=True)))
    weights += [dict(name=f"{prefix}key/kernel", shape=list(dk.shape), dtype="float32"),
                dict(name=f"{prefix}key/bias", shape=list(db.shape), dtype="float32")]
    blobs += [dk, db]
    return layers, weights, blobs


class TfjsMember:
    """An encoder already exported by this script (a Sequential model.json + weights.bin, BatchNorm
    folded), taken into an ensemble verbatim: its layers and weight bytes are copied, not recomputed.
    For those whose PyTorch checkpoint is gone. `model` is a PyTorch replica for the parity fixture:
    the folded weights with identity BatchNorm (eps 0), so it computes what the export computes."""

    def __init__(self, model_dir: str):
        path = os.path.join(model_dir, "model.json")
        try:
            doc = json.load(open(path))
            raw = np.fromfile(os.path.join(model_dir, doc["weightsManifest"][0]["paths"][0]), dtype="<f4")
        except (OSError, ValueError, KeyError, IndexError) as e:
            raise SystemExit(f"{model_dir}: not a TF.js export of this script ({e})") from None
        if doc.get("modelTopology", {}).get("class_name") != "Sequential":
            raise SystemExit(f"{model_dir}: only a single encoder (a Sequential model) can join an ensemble")
        self.layers = doc["modelTopology"]["config"]["layers"]
        self.specs = doc["weightsManifest"][0]["weights"]
        want = sum(int(np.prod(spec["shape"])) for spec in self.specs)
        if want != raw.size:
            raise SystemExit(f"{model_dir}: weights.bin holds {raw.size} floats, the manifest {want}")
        self.blobs, off = [], 0
        for spec in self.specs:
            n = int(np.prod(spec["shape"]))
            self.blobs.append(raw[off:off + n].reshape(spec["shape"]))
            off += n
        self.meta = doc.get("userDefinedMetadata", {})
        self.training = self.meta.get("training")
        self.model = self._replica()
        self.cfg = self.model.cfg

    def _replica(self) -> Encoder:
        w = dict(zip((s["name"] for s in self.specs), self.blobs))
        convs = [l["config"] for l in self.layers if l["class_name"] == "Conv2D"]
        pools = tuple(any(l["class_name"] == "MaxPooling2D" and l["config"]["name"] == f"pool{i}" for l in self.layers)
                      for i in range(1, len(convs) + 1))
        model = Encoder(ModelConfig(channels=tuple(c["filters"] for c in convs), pools=pools,
                                    key_size=int(self.meta.get("key_size", w["key/bias"].shape[0]))))
        with torch.no_grad():
            for blk, c in zip(model.features, convs):
                blk[0].weight.copy_(torch.from_numpy(w[c["name"] + "/kernel"].copy()).permute(3, 2, 0, 1))
                blk[0].bias.copy_(torch.from_numpy(w[c["name"] + "/bias"].copy()))
                bn = blk[1]
                bn.eps = 0.0
                bn.running_mean.zero_(), bn.running_var.fill_(1.0), bn.weight.fill_(1.0), bn.bias.zero_()
            k, side, ch = w["key/kernel"], model.flat_side, model.cfg.channels[-1]
            model.fc.weight.copy_(torch.from_numpy(k.copy()).view(side, side, ch, -1).permute(3, 2, 0, 1).reshape(-1, ch * side * side))
            model.fc.bias.copy_(torch.from_numpy(w["key/bias"].copy()))
        return model.eval()

    def tower(self, prefix: str) -> tuple[list, list, list]:
        layers = []
        for l in self.layers:
            cfg = {k: v for k, v in l["config"].items() if k != "batch_input_shape"}
            cfg["name"] = prefix + cfg["name"]
            layers.append(dict(class_name=l["class_name"], config=cfg))
        specs = [dict(s, name=prefix + s["name"]) for s in self.specs]
        return layers, specs, list(self.blobs)


def functional_topology(name: str, towers: list[list], size: int) -> dict:
    """Several towers on one input, their outputs concatenated: a Keras functional model for tfjs-layers."""
    nodes = [dict(class_name="InputLayer", name="input", inbound_nodes=[],
                  config=dict(batch_input_shape=[None, size, size, 1], dtype="float32", sparse=False, name="input"))]
    ends = []
    for layers in towers:
        prev = "input"
        for layer in layers:
            nodes.append(dict(class_name=layer["class_name"], config=layer["config"], name=layer["config"]["name"],
                              inbound_nodes=[[[prev, 0, 0, {}]]]))
            prev = layer["config"]["name"]
        ends.append(prev)
    nodes.append(dict(class_name="Concatenate", name="keys", inbound_nodes=[[[e, 0, 0, {}] for e in ends]],
                      config=dict(name="keys", trainable=True, dtype="float32", axis=-1)))
    return dict(class_name="Model", config=dict(name=name, layers=nodes, input_layers=[["input", 0, 0]],
                                                output_layers=[["keys", 0, 0]]))


def export(model: "Encoder | list[Encoder | TfjsMember]", out_dir: str, name: str = "omniglot-conv4", training: dict | None = None,
           key_center: list[dict] | None = None) -> dict:
    """One encoder -> a Sequential model. Several (an ensemble, bench/ensemble-rule.md) -> one functional
    model whose output is the members' raw outputs side by side, with `key_parts` = their number in the
    metadata: the TS Encoder then makes each part a unit vector and the key their concatenation / sqrt(parts)."""
    members = model if isinstance(model, list) else [model]
    models = [m.model if isinstance(m, TfjsMember) else m.eval().cpu() for m in members]
    os.makedirs(out_dir, exist_ok=True)
    if len(models) == 1:
        layers, weights, blobs = tower(models[0])
        topology = dict(class_name="Sequential", config=dict(name=name, layers=layers))
    else:
        if len({m.cfg.image_size for m in models}) != 1:
            raise SystemExit("the members of an ensemble must take the same input size")
        built = [m.tower(f"m{i}_") if isinstance(m, TfjsMember) else tower(m, prefix=f"m{i}_")
                 for i, m in enumerate(members, start=1)]
        weights = [w for _, ws, _ in built for w in ws]
        blobs = [b for _, _, bs in built for b in bs]
        topology = functional_topology(name, [ls for ls, _, _ in built], models[0].cfg.image_size)
    shard = "weights.bin"
    with open(os.path.join(out_dir, shard), "wb") as f:
        for b in blobs:
            f.write(np.ascontiguousarray(b, dtype="<f4").tobytes())
    key_size = sum(m.cfg.key_size for m in models)
    meta = dict(input="[batch, 28, 28, 1] float32, ink = 1 on background = 0 (training/preprocess.py)",
                output="[batch, key_size] raw embedding; L2-normalise to get the memory key",
                key_size=key_size, parameters=sum(parameter_count(m) for m in models))
    if len(models) > 1:
        if len({m.cfg.key_size for m in models}) != 1:
            raise SystemExit("the members of an ensemble must have the same key size")
        meta["output"] = (f"[batch, key_size] the raw embeddings of {len(models)} encoders side by side; the memory key is "
                          f"each part L2-normalised, concatenated, divided by sqrt({len(models)})")
        meta["key_parts"] = len(models)
    if training:
        meta["training"] = training
    if key_center:
        # each network's training mean, already subtracted in its last bias (bench/centering-rule.md)
        meta["key_center"] = key_center
    doc = dict(
        format="layers-model", generatedBy="memory-lab training/export_tfjs.py", convertedBy=None,
        modelTopology=dict(**topology, keras_version="tfjs-layers 4.22.0", backend="tensor_flow.js"),
        weightsManifest=[dict(paths=[shard], weights=weights)],
        userDefinedMetadata=meta)
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(doc, f)
    return doc


def ensemble_training(trainings: list[dict | None]) -> dict | None:
    """What trained an ensemble: each member's record, and trainval if any member saw the validation alphabets."""
    if not any(trainings):
        return None
    known = [t or {} for t in trainings]
    return dict(members=known, trainval=any(t.get("trainval") for t in known),
                run=" + ".join(t.get("run", "unknown run") for t in known),
                alphabets=next((t.get("alphabets", "unknown") for t in known if t.get("trainval")), known[0].get("alphabets", "unknown")))


def parity_fixture(model: Encoder | list[Encoder], path: str, model_dir: str, n_random: int = 4):
    """Synthetic inputs (stroke drawings through the preprocessing, and noise) -> PyTorch embeddings
    (an ensemble: the members' raw outputs side by side, keys as export() describes)."""
    from make_fixtures import synthetic_drawing
    from preprocess import preprocess

    rng = np.random.default_rng(7)
    inputs = [preprocess(synthetic_drawing(rng, 105, 105), ink_is_dark=True) for _ in range(6)]
    inputs += [rng.random((28, 28)).astype(np.float32) for _ in range(n_random)]
    x = torch.from_numpy(np.stack(inputs))[:, None]
    models = [m.model if isinstance(m, TfjsMember) else m.eval().cpu() for m in (model if isinstance(model, list) else [model])]
    with torch.no_grad():
        parts = [m(x) for m in models]
        raw = torch.cat(parts, 1)
        keys = torch.cat([torch.nn.functional.normalize(p, dim=1) for p in parts], 1) / len(parts) ** 0.5
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(dict(model=os.path.relpath(model_dir, ROOT),
                       inputs=[[round(float(v), 7) for v in a.flatten()] for a in inputs],
                       outputs=[[float(v) for v in r] for r in raw.numpy()],
                       keys=[[float(v) for v in r] for r in keys.numpy()]), f)


def load_model(ckpt: str | None) -> Encoder:
    if ckpt:
        try:
            state = torch.load(ckpt, map_location="cpu")
        except Exception as e:  # a missing, truncated or foreign file
            raise SystemExit(f"{ckpt}: cannot read it as a PyTorch checkpoint ({e})") from None
        if not isinstance(state, dict) or "model" not in state:
            raise SystemExit(f"{ckpt}: not a checkpoint of training/train.py (no 'model' weights)")
        model = Encoder(checkpoint_config(state))  # the shape it was saved with
        load_weights(model, state, ckpt)
        return model.eval()
    # no checkpoint: an untrained encoder of the default shape (placeholder), with non-trivial BN statistics
    model = Encoder(ModelConfig())
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


@torch.no_grad()
def training_mean(model: Encoder, trainval: bool, chars=None, batch: int = 512) -> tuple[np.ndarray, dict]:
    """The mean raw embedding of a network's training images (each in its 4 rotations, no augmentation):
    the characters train.py trains on (`training_ids`: 920, or 964 for a --trainval network).
    `chars`: the background set (default: read from OMNIGLOT_DIR)."""
    from data import Dataset, load_zip
    from train import training_ids

    chars = chars if chars is not None else load_zip("images_background")
    ids, _ = training_ids(chars, trainval)
    ds = Dataset(chars, ids)
    model.eval()
    total, norms, n = torch.zeros(model.cfg.key_size, dtype=torch.float64), 0.0, 0
    for r in range(4):
        for s in range(0, len(ds.char), batch):
            idx = torch.arange(s, min(s + batch, len(ds.char)))
            out = model(ds.images(idx, torch.full_like(idx, r), None, None)).double()
            total += out.sum(0)
            norms += float(out.norm(dim=1).sum())
            n += len(idx)
    mean = (total / n).numpy()
    return mean.astype(np.float32), dict(characters=int(len(ids)), images=n,
                                          alphabets="images_background (train + validation)" if trainval else "images_background without the validation alphabets",
                                          mean_norm=round(float(np.linalg.norm(mean)), 4), embedding_norm=round(norms / n, 4))


def center(member: "Encoder | TfjsMember", training: dict | None, chars=None) -> dict:
    """Fold minus the training mean into the member's last bias (in place) -> what was done, for the metadata."""
    if not training or "trainval" not in training:
        raise SystemExit("--center needs to know which images a network trained on (its summary.json or export metadata)")
    if isinstance(member, TfjsMember) and member.meta.get("key_center"):
        raise SystemExit("this network is already centred")
    model = member.model if isinstance(member, TfjsMember) else member
    mean, info = training_mean(model, bool(training["trainval"]), chars)
    with torch.no_grad():
        model.fc.bias.sub_(torch.from_numpy(mean))
    if isinstance(member, TfjsMember):
        i = [s["name"] for s in member.specs].index("key/bias")
        member.blobs[i] = member.blobs[i] - mean
    print(f"centred: mean over {info['images']} training images x rotations, |mean| {info['mean_norm']}, "
          f"mean |embedding| {info['embedding_norm']}")
    return info


def main():
    args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
    out = os.path.abspath(args.get("out", os.path.join(ROOT, "models", "omniglot-conv4")))
    # --ckpt=A.pt,B.pt: an ensemble of the two (bench/ensemble-rule.md); a member "tfjs:DIR" is an
    # earlier export of this script, copied verbatim (its checkpoint may be gone)
    ckpts = args["ckpt"].split(",") if args.get("ckpt") else [None]
    members = [TfjsMember(c[5:]) if c and c.startswith("tfjs:") else load_model(c) for c in ckpts]
    if len(ckpts) == 1 and isinstance(members[0], TfjsMember):
        raise SystemExit("a tfjs: member is for ensembles: a single export is already exported")
    models = [m.model if isinstance(m, TfjsMember) else m for m in members]
    model = members[0] if len(members) == 1 else members
    trainings = [m.training if isinstance(m, TfjsMember) else training_of(c) for m, c in zip(members, ckpts)]
    if args.get("center", "false") not in ("true", "false"):
        raise SystemExit(f"--center must be true or false, got {args['center']!r}")
    centres = None
    if args.get("center") == "true":
        from data import load_zip
        chars = load_zip("images_background")  # read once for every member
        centres = [center(m, t, chars) for m, t in zip(members, trainings)]
    training = trainings[0] if len(ckpts) == 1 else ensemble_training(trainings)
    export(model, out, name=os.path.basename(out.rstrip("/")), training=training,
           key_center=centres)
    # one fixture per encoder folder, so exporting one encoder never overwrites another's
    name = os.path.basename(out.rstrip("/"))
    # (the first bundled encoder's kept its original name)
    fixture = "encoder_parity.json" if name == "omniglot-conv4" else f"encoder_parity_{name}.json"
    parity = args.get("parity", os.path.join(ROOT, "tests", "fixtures", fixture))
    if parity != "none":
        parity_fixture(model, parity, out)
    print(f"exported {sum(parameter_count(m) for m in models)} parameters ({len(models)} encoder(s)) to {out}")


if __name__ == "__main__":
    main()

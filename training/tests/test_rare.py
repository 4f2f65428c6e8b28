"""The rare-event task's Python side against the fixtures the TypeScript tests read, and the
export round trip. training/rare/ has its own data.py, model.py, memory.py, train.py (the same
module names as training/), so its modules are imported in isolation."""
import importlib
import json
import os
import sys

import numpy as np
import pytest
from treecompare import assert_close_tree
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RARE = os.path.join(ROOT, "training", "rare")
NAMES = ("data", "model", "memory", "train", "export", "make_fixture")


def _import_rare():
    saved = {n: sys.modules.pop(n) for n in NAMES if n in sys.modules}
    sys.path.insert(0, RARE)
    try:
        return {n: importlib.import_module(n) for n in NAMES}
    finally:
        sys.path.remove(RARE)
        for n in NAMES:
            sys.modules.pop(n, None)
        sys.modules.update(saved)


R = _import_rare()
mf = R["make_fixture"]


def test_data_fixture_is_what_python_generates():
    committed = json.load(open(os.path.join(ROOT, "tests", "fixtures", "rare_data.json")))
    assert json.loads(json.dumps(mf.data_fixture())) == committed


def test_generator_properties():
    d = R["data"]
    task = d.make_task(3, n_train=300, n_test=100)
    for split in (task.train, task.test):
        for x, y, n, p in zip(split.inputs, split.outputs, split.numbers, split.positions):
            assert d.MIN_LEN <= len(x) <= d.MAX_LEN and len(y) == len(x)
            assert d.parse(d.render(x)) == x
            assert d.from_base4([t - d.DIGIT0 for t in x[p:p + 7]]) == n
            assert d.from_base4([t - d.DIGIT0 for t in y[p:p + 7]]) == task.f[n]
            assert all(a == b for i, (a, b) in enumerate(zip(x, y)) if not p <= i < p + 7)
    with pytest.raises(ValueError, match="exactly one run"):
        d.parse("AB000000BA")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("rare-tiny"))
    mf.tiny_model(out)
    return out


def test_tiny_model_is_the_committed_one(tiny):
    committed = os.path.join(ROOT, "tests", "fixtures", "rare-tiny")
    for name in ("memory.values.bin", "memory.ages.bin", "memory.origin.bin"):  # decisions: exact
        assert open(os.path.join(tiny, name), "rb").read() == open(os.path.join(committed, name), "rb").read(), name
    for name, dtype, tol in (("weights.bin", "<f4", 1e-6), ("memory.keys.bin", "<f2", 2e-3)):  # numbers: to BLAS rounding
        a, b = np.fromfile(os.path.join(tiny, name), dtype=dtype), np.fromfile(os.path.join(committed, name), dtype=dtype)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), atol=tol, err_msg=name)


def test_export_round_trip(tiny):
    """export -> load_export gives the same weights and memory (keys as readers see them), and the
    same decoding as the model in memory with those keys."""
    torch.manual_seed(0)
    model = R["model"].Seq2Seq(R["model"].Seq2SeqConfig(embed=8, hidden=16, key_size=16, value_embed=8))
    mem = R["memory"].BatchMemory(R["memory"].BatchMemoryConfig(memory_size=64, key_size=16, k=8))
    q = torch.nn.functional.normalize(torch.randn(40, 16), dim=1)
    mem.write(q, torch.randint(4, 8, (40,)), mem.lookup(q), torch.arange(40))
    cfg = dict(task_seed=1, memory_steps="digits", memory_size=64, k=8, alpha=0.1)
    out = os.path.join(tiny, "..", "round-trip")
    R["export"].export(model, mem, cfg, out)
    m2, mem2, doc = mf.load_export(out)
    for k, v in model.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k]), k
    assert torch.allclose(mem2.keys, R["export"].exported_keys(mem.keys))
    assert torch.equal(mem2.values, mem.values) and torch.equal(mem2.origin, mem.origin) and torch.equal(mem2.ages, mem.ages)
    assert doc["memory"]["filled"] == int(mem.filled.sum()) == int(mem2.filled.sum())
    mem.keys = R["export"].exported_keys(mem.keys)
    x = R["train"].pad([R["data"].parse("AB0001023BBA"), R["data"].parse("0013322")], "cpu")
    ns = type("C", (), dict(memory_steps="digits", use_memory=True))
    a, b = R["train"].decode(model, mem, x, ns), R["train"].decode(m2, mem2, x, ns)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_tiny_parity_fixture_is_what_decode_gives():
    committed = json.load(open(os.path.join(ROOT, "tests", "fixtures", "rare", "rare-tiny.parity.json")))
    fresh = json.loads(json.dumps(mf.parity_fixture(os.path.join(ROOT, "tests", "fixtures", "rare-tiny"))))
    assert_close_tree(fresh, committed, tol=1e-4)


def test_corrupt_export_is_refused(tiny, tmp_path):
    doc = json.load(open(os.path.join(tiny, "model.json")))
    doc["format"] = "something-else"
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in os.listdir(tiny):
        (bad / name).write_bytes(open(os.path.join(tiny, name), "rb").read())
    (bad / "model.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="expected format memory-lab/rare-seq2seq v1"):
        mf.load_export(str(bad))
    np.zeros(3, dtype="<f4").tofile(str(bad / "weights.bin"))
    doc["format"] = "memory-lab/rare-seq2seq"
    (bad / "model.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="weights.bin: expected"):
        mf.load_export(str(bad))


def test_batchnorm_query_exports_folded(tmp_path):
    """A batch-norm query (train.py --query_norm=batchnorm) exports as a = W' ctx + b' with the
    running statistics folded in; the loaded model decodes exactly as the trained one in eval mode."""
    torch.manual_seed(3)
    M = R["model"]
    model = M.Seq2Seq(M.Seq2SeqConfig(embed=8, hidden=16, key_size=16, value_embed=8, query_norm="batchnorm"))
    with torch.no_grad():  # running statistics far from (0, 1), as after training
        model.query_bn.running_mean.uniform_(-2, 2)
        model.query_bn.running_var.uniform_(0.2, 3)
    model.eval()
    mem = R["memory"].BatchMemory(R["memory"].BatchMemoryConfig(memory_size=64, key_size=16, k=8))
    x = R["train"].pad([R["data"].parse("AB0001023BBA"), R["data"].parse("0013322"), R["data"].parse("BBBB3210123A")], "cpu")
    y = R["train"].pad([R["data"].target_for(r, np.arange(16001)) for r in [R["data"].parse("AB0001023BBA"), R["data"].parse("0013322"), R["data"].parse("BBBB3210123A")]], "cpu")
    ns = type("C", (), dict(memory_steps="digits", use_memory=True))
    with torch.no_grad():
        R["train"].forward_teacher(model, mem, x, y, ns, write=True, train=False)
    cfg = dict(task_seed=1, memory_steps="digits", memory_size=64, k=8, alpha=0.1)
    out = str(tmp_path / "bn")
    doc = R["export"].export(model, mem, cfg, out)
    assert doc["config"]["query_activation"] == "identity" and "query_norm" not in doc["config"]
    assert {w["name"] for w in doc["weights"]} >= {"query.weight", "query.bias"}
    assert not any(w["name"].startswith("query_bn") for w in doc["weights"])
    m2, mem2, _ = mf.load_export(out)
    mem.keys = R["export"].exported_keys(mem.keys)
    a, b = R["train"].decode(model, mem, x, ns), R["train"].decode(m2, mem2, x, ns)
    for k in ("pred", "mem_value", "n1"):
        assert torch.equal(a[k], b[k]), k
    assert torch.allclose(a["mem_conf"], b["mem_conf"], atol=1e-5)
    assert int((a["n1"] >= 0).sum()) > 0  # the memory was consulted


def test_query_reconstruction_targets():
    """The reconstruction loss (train.py --recon_weight, not the paper's) asks each digit step's query
    for the 7 digits of its row's number and its offset within them: logits built from those
    targets give a loss ~0, from shifted targets a large one."""
    M, D = R["model"], R["data"]
    model = M.Seq2Seq(M.Seq2SeqConfig(embed=8, hidden=16, key_size=16, value_embed=8, query_recon=True))
    rows = [D.parse("AB0123012BA"), D.parse("3210321"), D.parse("BBBBBBB1111222A")]
    x = R["train"].pad(rows, "cpu")
    sel = x >= D.DIGIT0
    want = []
    for r in rows:
        first = next(i for i, t in enumerate(r) if t >= D.DIGIT0)
        digits = [t - D.DIGIT0 for t in r[first:first + 7]]
        want += [(digits, j) for j in range(7)]

    def fake(targets):
        logits = torch.full((len(targets), 56), -50.0)
        for i, (digits, j) in enumerate(targets):
            for d, v in enumerate(digits):
                logits[i, 4 * d + v] = 50.0
            logits[i, 28 + j] = 50.0
        return logits

    class Fixed(torch.nn.Module):
        def __init__(self, logits):
            super().__init__()
            self.logits = logits

        def forward(self, _q):
            return self.logits

    q = torch.nn.functional.normalize(torch.randn(int(sel.sum()), 16), dim=1)
    model.recon = Fixed(fake(want))
    assert float(model.recon_loss(q, x, sel)) < 1e-6
    model.recon = Fixed(fake([([(v + 1) % 4 for v in d], (j + 1) % 7) for d, j in want]))
    assert float(model.recon_loss(q, x, sel)) > 10

"""The committed Python<->TS fixtures are what make_fixtures.py writes today."""
import json
import os

import make_fixtures
import numpy as np
import pytest
from treecompare import assert_close_tree
import torch
from memory import Memory, MemoryConfig, age_noise_uniform

FIX = make_fixtures.FIXTURES


@pytest.mark.parametrize("name,noise,seed", [("memory_trace.json", 0.0, 0), ("memory_trace_noisy.json", 8.0, 7)])
def test_memory_traces_regenerate_identically(name, noise, seed):
    fresh = json.loads(json.dumps(make_fixtures.memory_trace(None, noise, seed)))
    committed = json.load(open(os.path.join(FIX, name)))
    assert_close_tree(fresh, committed, name)  # stale? run /usr/bin/python3 training/make_fixtures.py


def test_noisy_trace_evicts_and_noise_changes_a_choice():
    noisy = make_fixtures.memory_trace(None, 8.0, 7)
    evictions = [(s["expected"]["slots"], s["expected"]["previousAges"]) for s in noisy["steps"] if s["op"] == "write"
                 and any(p >= 0 for p in s["expected"]["previousValues"])]
    assert len(evictions) > 5
    # the same script without noise makes different eviction choices
    plain = make_fixtures.memory_trace(None, 0.0, 7)
    slots = lambda t: [s["expected"]["slots"] for s in t["steps"] if s["op"] == "write"]  # noqa: E731
    assert slots(noisy) != slots(plain)


def test_age_noise_hash_matches_the_typescript_constants():
    # values of src/memory/random.ts ageNoiseUniform (computed there): tests/unit/memoryTrace.test.ts
    # replays the noisy trace, so any difference in the hash shows there; here: range and spread
    u = [age_noise_uniform(7, w, i) for w in range(50) for i in range(20)]
    assert min(u) >= 0 and max(u) < 1 and 0.4 < np.mean(u) < 0.6


def test_noisy_eviction_picks_among_the_oldest_within_the_noise():
    m = Memory(MemoryConfig(memory_size=20, key_size=4, k=4, age_noise=3.0), dtype=torch.float64, seed=11)
    rng = np.random.default_rng(0)
    picks = []
    for i in range(200):
        q = torch.from_numpy(rng.normal(size=(1, 4)))
        ages_before = m.ages.clone()
        full = bool(m.filled.all())
        (case, slot, prev_v, prev_age), = m.write(q, torch.tensor([i]))  # a new label every time: case 'new'
        assert case == "new"
        if full:
            assert prev_age >= float(ages_before.max()) - 3.0  # only slots within the noise of the oldest can win
            picks.append(prev_age == float(ages_before.max()))
    assert any(picks) and not all(picks)  # the noise sometimes picks a slot other than the oldest


def test_empty_memory_and_bad_queries_agree_with_the_ts_memory():
    m = Memory(MemoryConfig(memory_size=4, key_size=2, k=2), dtype=torch.float64)
    r = m.query(torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    assert r["prediction"].tolist() == [-1] and r["indices"].shape == (1, 0)
    for bad in ([[0.0, 0.0]], [[float("nan"), 1.0]], [[float("inf"), 0.0]]):
        q = torch.tensor(bad, dtype=torch.float64)
        for call in (lambda: m.query(q), lambda: m.write(q, torch.tensor([1])), lambda: m.loss(q, torch.tensor([1]))):
            with pytest.raises(ValueError):
                call()
    assert int(m.filled.sum()) == 0 and m.writes == 0  # state unchanged

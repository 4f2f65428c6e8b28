import math

import pytest
import torch

from memory import Memory, MemoryConfig


def unit(*v):
    t = torch.tensor(v, dtype=torch.float64)
    return t / t.norm()


def make(size=3, k=2, noise=0.0):
    return Memory(MemoryConfig(memory_size=size, key_size=2, k=k, age_noise=noise), dtype=torch.float64)


def test_empty_slots_fill_first_then_the_oldest_is_replaced():
    m = make()
    out = m.write(torch.stack([unit(1, 0), unit(0, 1), unit(-1, 0)]), torch.tensor([0, 1, 2]))
    assert [o[:2] for o in out] == [("new", 0), ("new", 1), ("new", 2)]
    assert m.ages.tolist() == [2, 1, 0]
    # a 4th label: memory is full, slot 0 is the oldest (age 2) -> evicted
    (case, slot, prev_v, prev_age), = m.write(unit(0, -1)[None], torch.tensor([3]))
    assert (case, slot, prev_v, prev_age) == ("new", 0, 0, 2.0)
    assert m.values.tolist() == [3, 1, 2] and m.ages.tolist() == [0, 2, 1]


def test_case_one_averages_the_key_and_resets_the_age():
    m = make()
    m.write(torch.stack([unit(1, 0), unit(0, 1)]), torch.tensor([0, 1]))
    q = unit(1, 1)  # ties between the two; nudge towards slot 0
    q = unit(1.0, 0.8)
    (case, slot, _, prev_age), = m.write(q[None], torch.tensor([0]))
    assert (case, slot, prev_age) == ("update", 0, 1.0)
    expected = (q + unit(1, 0)) / (q + unit(1, 0)).norm()
    torch.testing.assert_close(m.keys[0], expected)
    assert m.ages.tolist() == [0, 1, 0]  # slot 1 got older, the empty slot stays 0


def test_case_one_with_the_opposite_key_keeps_q_as_the_typescript_memory():
    # q = -K[n1] and the same value: normalize(q + K[n1]) has no direction; the slot keeps q, never a zero key
    m = make(size=2)
    m.write(unit(1, 0)[None], torch.tensor([0]))
    (case, slot, _, _), = m.write(unit(-1, 0)[None], torch.tensor([0]))
    assert (case, slot) == ("update", 0)
    torch.testing.assert_close(m.keys[0], unit(-1, 0))


def test_queries_of_any_length_are_their_direction():
    m = make()
    m.write(torch.stack([unit(1, 0), unit(0, 1)]), torch.tensor([0, 1]))
    q = unit(1.0, 0.3)
    a, b = m.query(q[None]), m.query(5 * q[None])
    torch.testing.assert_close(a["similarities"], b["similarities"])
    torch.testing.assert_close(a["softmax"], b["softmax"])
    la, lb = m.loss(q[None], torch.tensor([1])), m.loss(5 * q[None], torch.tensor([1]))
    torch.testing.assert_close(la[0], lb[0])


def test_case_two_when_the_nearest_has_another_value():
    m = make()
    m.write(unit(1, 0)[None], torch.tensor([0]))
    (case, slot, prev_v, _), = m.write(unit(1, 0.1)[None], torch.tensor([5]))
    assert (case, slot, prev_v) == ("new", 1, -1)


def test_query_softmax_and_k_capped_by_filled_slots():
    m = make(size=4, k=3)
    m.write(torch.stack([unit(1, 0), unit(0, 1)]), torch.tensor([7, 8]))
    r = m.query(unit(1, 0)[None])
    assert r["indices"].tolist() == [[0, 1]] and r["prediction"].tolist() == [7]
    e = math.exp(40 * 0.0) / (math.exp(40 * 1.0) + math.exp(40 * 0.0))
    assert r["softmax"][0, 1].item() == pytest.approx(e)


def test_loss_by_hand():
    m = make(size=3, k=1)
    m.write(torch.stack([unit(1, 0), unit(0, 1)]), torch.tensor([0, 1]))
    q = unit(1, 1)  # similarity 1/sqrt(2) to both keys
    q = unit(1.0, 0.5)
    loss, np_, nb = m.loss(q[None], torch.tensor([1]))
    # top-1 is slot 0 (value 0): nb = 0; np not in the top 1 -> the slot with value 1 anywhere: 1
    assert (np_.item(), nb.item()) == (1, 0)
    assert loss.item() == pytest.approx(max(0.0, q[0].item() - q[1].item() + 0.1))
    loss, np_, nb = m.loss(q[None], torch.tensor([9]))  # no slot holds 9: positive term is 0
    assert np_.item() == -1 and loss.item() == pytest.approx(q[0].item() + 0.1)


def test_loss_gradient_reaches_the_query_only():
    m = make()
    m.write(torch.stack([unit(1, 0), unit(0, 1)]), torch.tensor([0, 1]))
    q = unit(0.9, 0.6)[None].clone().requires_grad_(True)
    loss, _, _ = m.loss(q, torch.tensor([1]))
    loss.sum().backward()
    # d/dq of q.K[nb] - q.K[np] is K[nb] - K[np]; the loss takes q's direction (normalize), so for a
    # unit q the gradient is that vector's part orthogonal to q
    g, u = unit(1, 0) - unit(0, 1), q.detach()[0]
    torch.testing.assert_close(q.grad[0], g - (g @ u) * u)


def test_impossible_settings_are_refused():
    with pytest.raises(ValueError):
        Memory(MemoryConfig(memory_size=0))
    # an empty memory is not an error (no neighbour, prediction -1, as the TS memory)
    assert make().query(unit(1, 0)[None])["prediction"].tolist() == [-1]

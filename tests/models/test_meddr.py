"""MedDr-mini: tokenizer round trip, causal masking, shapes, learning, generation, errors."""

import pytest
import torch

from medai_edu.models import create_model
from medai_edu.models.meddr import IGNORE_INDEX
from medai_edu.models.tokenizer import CourseTokenizer

TEXTS = [
    "findings: spiculated margin, washout kinetics, restricted diffusion. impression: malignant.",
    "which diagnosis fits this breast mri? options: (a) malignant (b) benign. answer: (a)",
    "the margin is circumscribed. the tumour shows glands and keratin pearls.",
] * 20


@pytest.fixture(scope="module")
def tokenizer():
    return CourseTokenizer(300).fit(TEXTS)


def small(**kw):
    torch.manual_seed(0)
    return create_model("meddr-mini", vocab_size=300, depth=2, dim=64, **kw)


def test_tokenizer_round_trip_and_saving(tokenizer, tmp_path):
    text = "Spiculated margin, ADC 0.9 × 10⁻³ mm²/s: malignant (é)."
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text  # byte-level: nothing is lost, not even unseen text
    assert len(tokenizer.encode("malignant")) < len("malignant")  # frequent words merge
    loaded = CourseTokenizer.load(tokenizer.save(tmp_path / "tokenizer.json"))
    assert loaded.encode(text) == ids
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a saved CourseTokenizer"):
        CourseTokenizer.load(tmp_path / "bad.json")
    with pytest.raises(RuntimeError, match="fit the tokenizer"):
        CourseTokenizer().encode("x")


def test_a_token_never_sees_the_future():
    model = small().eval()
    images = torch.rand(1, 3, 32, 32)
    ids = torch.randint(4, 300, (1, 12))
    changed = ids.clone()
    changed[0, 8:] = torch.randint(4, 300, (4,))
    a, b = model(images, ids)["logits"], model(images, changed)["logits"]
    torch.testing.assert_close(a[:, :8], b[:, :8])
    assert not torch.allclose(a[:, 8:], b[:, 8:])
    # ... but every text token sees the image, which comes first
    c = model(torch.rand(1, 3, 32, 32), ids)["logits"]
    assert not torch.allclose(a[:, 0], c[:, 0])


def test_projector_and_output_shapes():
    model = small()
    visual = model.vision(torch.rand(5, 3, 32, 32))
    assert visual.shape == (5, 16, 64)  # a 4 x 4 grid of visual tokens
    assert model.projector(visual).shape == (5, 16, model.config.dim)
    out = model(torch.rand(5, 3, 32, 32), torch.randint(0, 300, (5, 7)))
    assert out["logits"].shape == (5, 7, 300)


def test_training_lowers_the_loss():
    model = small()
    images = torch.rand(4, 3, 32, 32)
    ids = torch.randint(4, 300, (4, 10))
    labels = torch.cat([ids[:, 1:], torch.full((4, 1), IGNORE_INDEX)], dim=1)
    labels[:, :3] = IGNORE_INDEX  # the prompt is not learned
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = model(images, ids, labels)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_generation_greedy_sampling_and_streaming():
    model = small().eval()
    image = torch.rand(3, 32, 32)
    greedy = model.generate(image, [2, 10, 11], max_new_tokens=8)
    assert len(greedy) == 8 and greedy == model.generate(image, [2, 10, 11], max_new_tokens=8)
    assert list(model.stream(image, [2, 10, 11], max_new_tokens=8)) == greedy
    top1 = model.generate(image, [2, 10, 11], max_new_tokens=8, temperature=1.0, top_k=1)
    assert top1 == greedy  # top-1 sampling is greedy
    g = torch.Generator().manual_seed(0)
    hot = model.generate(image, [2, 10, 11], max_new_tokens=8, temperature=5.0, generator=g)
    assert hot != greedy  # a hot, unrestricted sample wanders off the argmax
    stop = greedy[-1]
    until = greedy[: greedy.index(stop)]
    assert model.generate(image, [2, 10, 11], max_new_tokens=8, stop_id=stop) == until


def test_bad_input_is_named():
    model = small()
    with pytest.raises(ValueError, match=r"images must be \(batch, 3, 32, 32\)"):
        model(torch.rand(2, 1, 32, 32), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="longer than the context"):
        model(torch.rand(1, 3, 32, 32), torch.zeros(1, 200, dtype=torch.long))
    with pytest.raises(ValueError, match="temperature"):
        model.generate(torch.rand(3, 32, 32), [2], temperature=-1)
    with pytest.raises(ValueError, match="multiple of heads"):
        create_model("meddr-mini", dim=30, heads=4)

"""The training core: it learns, stops early, checkpoints, and reports where it runs."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from medai_edu import metrics
from medai_edu.train import (
    History,
    evaluate,
    fit,
    load_checkpoint,
    predict,
    save_checkpoint,
    seed_everything,
    select_device,
    train_steps,
)


def two_blobs(n=256, seed=0):
    """A linearly separable toy problem: label = sign of a fixed projection."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x @ torch.arange(1.0, 9.0) > 0).long()
    return TensorDataset(x, y)


def tiny_model():
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


def auroc_metrics(outputs, targets):
    return {
        "auroc": metrics.auroc(targets, outputs),
        "accuracy": metrics.accuracy(targets, outputs),
    }


def loaders(batch_size=32):
    train = DataLoader(two_blobs(256, 0), batch_size=batch_size, shuffle=True)
    val = DataLoader(two_blobs(128, 1), batch_size=64)
    return train, val


def test_fit_learns_a_tiny_problem():
    torch.manual_seed(0)
    model = tiny_model()
    train, val = loaders()
    before = evaluate(model, val, metrics_fn=auroc_metrics, device="cpu")
    history = fit(
        model,
        train,
        val,
        loss_fn=nn.functional.cross_entropy,
        epochs=15,
        lr=1e-2,
        metrics_fn=auroc_metrics,
        monitor="val_auroc",
        device="cpu",
        progress=False,
    )
    after = evaluate(model, val, metrics_fn=auroc_metrics, device="cpu")
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert after["accuracy"] > 0.9 and after["accuracy"] > before["accuracy"] + 0.2
    assert history.mode == "max" and history.best["val_auroc"] == max(history["val_auroc"])
    # the model ends with the best epoch's weights
    assert after["auroc"] == pytest.approx(history.best["val_auroc"], abs=1e-6)


def test_same_seed_same_result():
    runs = []
    for _ in range(2):
        model = (seed_everything(3), tiny_model())[1]
        train, _ = loaders()
        fit(
            model,
            train,
            loss_fn=nn.functional.cross_entropy,
            epochs=2,
            device="cpu",
            seed=3,
            progress=False,
        )
        runs.append(torch.cat([p.flatten() for p in model.parameters()]))
    torch.testing.assert_close(runs[0], runs[1])


def test_early_stopping_stops_when_nothing_improves():
    model = tiny_model()
    train, val = loaders()
    history = fit(
        model,
        train,
        val,
        loss_fn=nn.functional.cross_entropy,
        epochs=50,
        lr=0.0,
        patience=2,
        device="cpu",
        progress=False,
    )
    assert history.stopped_early and len(history) == 3  # epoch 1 sets the best, 2 and 3 do not


def test_checkpoint_round_trip(tmp_path):
    model = tiny_model()
    train, val = loaders()
    path = tmp_path / "best.pt"
    fit(
        model,
        train,
        val,
        loss_fn=nn.functional.cross_entropy,
        epochs=3,
        checkpoint=path,
        device="cpu",
        progress=False,
    )
    fresh = tiny_model()
    meta = load_checkpoint(fresh, path)
    assert "val_loss" in meta and meta["epoch"] >= 1
    x = torch.randn(4, 8)
    torch.testing.assert_close(fresh(x), model(x))


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tiny_model(), tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable"):
        load_checkpoint(tiny_model(), bad)
    save_checkpoint(tiny_model(), tmp_path / "ok.pt", note="x")
    with pytest.raises(RuntimeError):  # wrong architecture: torch names the mismatched keys
        load_checkpoint(nn.Linear(8, 2), tmp_path / "ok.pt")
    # metadata that weights_only loading would refuse is refused when saving
    with pytest.raises(TypeError, match="TorchVersion"):
        save_checkpoint(tiny_model(), tmp_path / "odd.pt", torch=torch.__version__)
    assert not (tmp_path / "odd.pt").exists()


def test_dict_batches_and_predict():
    class DictModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(8, 2), nn.Linear(3, 2)

        def forward(self, inputs):
            return {"logits": self.a(inputs["x"]) + self.b(inputs["z"])}

    data = [
        ({"x": torch.randn(8), "z": torch.randn(3)}, {"y": torch.tensor(i % 2)}) for i in range(10)
    ]
    loader = DataLoader(data, batch_size=4)

    def loss_fn(out, tgt):
        return nn.functional.cross_entropy(out["logits"], tgt["y"])

    history = fit(
        DictModel(), loader, loader, loss_fn=loss_fn, epochs=2, device="cpu", progress=False
    )
    assert len(history) == 2 and "val_loss" in history.keys
    outputs, targets = predict(DictModel(), loader, device="cpu")
    assert outputs["logits"].shape == (10, 2) and targets["y"].tolist() == [0, 1] * 5


def test_select_device_reports_its_choice(capsys):
    device = select_device()
    out = capsys.readouterr().out
    assert out.startswith("medai-edu: using ") and device.type in out
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device.type in (expected, "mps")
    assert select_device("cpu", verbose=False).type == "cpu"


def test_monitor_needs_validation_data():
    with pytest.raises(ValueError, match="val_loader"):
        fit(
            tiny_model(),
            loaders()[0],
            loss_fn=nn.functional.cross_entropy,
            monitor="val_auroc",
            device="cpu",
            progress=False,
        )


def test_history_plot_has_titles_and_labels():
    from medai_edu.viz import plot_history

    history = History(
        records=[
            {"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "val_auroc": 0.6, "seconds": 0.1},
            {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7, "val_auroc": 0.8, "seconds": 0.1},
        ],
        best_epoch=2,
    )
    fig = plot_history(history)
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() == "epoch" and ax.get_ylabel()
    assert [line.get_label() for line in fig.axes[1].lines][0] == "auroc"
    with pytest.raises(ValueError, match="empty"):
        plot_history(History())


def test_history_is_plain_data():
    history = History(records=[{"epoch": 1, "train_loss": 0.3, "seconds": 1.5}])
    assert history.to_dict()["records"][0]["train_loss"] == 0.3
    assert history.total_seconds == 1.5 and np.isnan(history["val_loss"][0])


def cross_entropy_of(model, batch):
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def test_train_steps_learns_from_a_callable_and_from_an_iterable():
    data = two_blobs(256, 0)
    generator = torch.Generator().manual_seed(0)

    def draw(step):
        pick = torch.randint(0, len(data), (32,), generator=generator)
        return data.tensors[0][pick], data.tensors[1][pick]

    test_x, test_y = two_blobs(128, 1).tensors
    for batches in (draw, DataLoader(data, batch_size=32, shuffle=True)):
        seed_everything(0)
        model = tiny_model()
        history = train_steps(
            model, batches, cross_entropy_of, steps=60, lr=1e-2, device="cpu", progress=False
        )
        assert len(history) == 60 and history["step"] == list(range(1, 61))
        assert np.mean(history["train_loss"][-10:]) < 0.5 * history["train_loss"][0]
        assert not model.training  # ends in evaluation mode
        assert metrics.accuracy(test_y, model(test_x).detach()) > 0.9


def test_train_steps_schedule_budget_checkpoint_and_frozen_parts(tmp_path):
    data = DataLoader(two_blobs(64, 0), batch_size=16)
    model = tiny_model()
    model[0].requires_grad_(False)
    frozen = model[0].weight.clone()
    history = train_steps(
        model,
        data,
        cross_entropy_of,
        steps=8,
        lr=1e-2,
        schedule=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.1),
        checkpoint=tmp_path / "last.pt",
        device="cpu",
        progress=False,
    )
    assert torch.equal(model[0].weight, frozen)  # only trainable parameters move
    assert history["lr"][0] == pytest.approx(1e-2) and history["lr"][-1] == pytest.approx(1e-3)
    copy = tiny_model()
    assert load_checkpoint(copy, tmp_path / "last.pt")["steps"] == 8
    assert torch.equal(copy[2].weight, model[2].weight)
    stopped = train_steps(
        tiny_model(), data, cross_entropy_of, steps=1000, time_budget_s=0.0, progress=False
    )
    assert len(stopped) == 1 and stopped.stopped_early


def test_train_steps_refuses_a_model_with_nothing_to_train_and_a_diverging_loss():
    frozen = tiny_model().requires_grad_(False)
    with pytest.raises(ValueError, match="no parameter"):
        train_steps(frozen, [None], lambda m, b: torch.tensor(0.0), steps=1, progress=False)
    model = tiny_model()
    with pytest.raises(FloatingPointError, match="step 1"):
        train_steps(
            model,
            [None],
            lambda m, b: m[0].weight.sum() * float("nan"),
            steps=3,
            device="cpu",
            progress=False,
        )


def test_fit_warms_up_then_decays_the_learning_rate_per_step():
    train, _ = loaders()  # 8 steps per epoch
    model = tiny_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    history = fit(
        model,
        train,
        loss_fn=nn.functional.cross_entropy,
        optimizer=optimizer,
        epochs=10,
        schedule="cosine",
        warmup_epochs=2,
        device="cpu",
        progress=False,
    )
    lrs = history["lr"]
    assert lrs[0] == pytest.approx(1e-2 / 16)  # the first warm-up step already learns
    assert lrs[0] < lrs[1] < lrs[2] == pytest.approx(1e-2)  # linear warm-up over 2 epochs
    assert all(a > b for a, b in zip(lrs[2:], lrs[3:], strict=False))  # then cosine decay
    assert optimizer.param_groups[0]["lr"] < 1e-6  # zero after the last step


def test_fit_keeps_a_constant_learning_rate_by_default_and_checks_the_schedule():
    train, _ = loaders()
    history = fit(
        tiny_model(),
        train,
        loss_fn=nn.functional.cross_entropy,
        epochs=3,
        lr=1e-2,
        device="cpu",
        progress=False,
    )
    assert history["lr"] == [1e-2] * 3
    warm = fit(
        tiny_model(),
        train,
        loss_fn=nn.functional.cross_entropy,
        epochs=3,
        lr=1e-2,
        warmup_epochs=1,
        device="cpu",
        progress=False,
    )
    assert warm["lr"][0] < warm["lr"][1] == warm["lr"][2] == pytest.approx(1e-2)
    with pytest.raises(ValueError, match="schedule must be"):
        fit(tiny_model(), train, loss_fn=nn.functional.cross_entropy, schedule="linear")
    with pytest.raises(ValueError, match="warmup_epochs"):
        fit(tiny_model(), train, loss_fn=nn.functional.cross_entropy, warmup_epochs=-1)

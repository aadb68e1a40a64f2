"""One Gradio app for the course's four models: ``medai-edu demo`` serves it on 127.0.0.1.

Each tab calls the model's demo module (:mod:`.breast_mri`, :mod:`.slides`, :mod:`.chat`,
:mod:`.explanations`); this module only lays out the page and turns a user's mistakes into
messages on the page. Every handler has an ``api_name``, so students can call the app from
code with ``gradio_client`` (see the README's "Demo" section).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from medai_edu.demos import breast_mri, chat, explanations, slides
from medai_edu.demos.bundle import DemoModels, Examples, load_demo_models, load_examples
from medai_edu.demos.uploads import UploadError, model_inputs, read_mri_upload
from medai_edu.viz import plot_modality_contributions

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr  # noqa: E402

log = logging.getLogger(__name__)

DISCLAIMER = (
    "**A teaching tool, not for clinical use.** These are small models trained in minutes "
    "on synthetic data for a course; never use them to make decisions about a patient."
)
#: A class of 20-40 students: requests run this many at a time per event, the rest queue.
CONCURRENCY = 4
QUEUE_SIZE = 256
MAX_FILE_SIZE = "200mb"
NO_SWITCH = "none"
CHAT_SOURCES = {"breast-mri": "breast MRI", "pathology": "lung pathology", "ihc": "IHC"}


# --------------------------------------------------------------------------- errors


USER_ERRORS = (UploadError, ValueError, FileNotFoundError)


def _as_gradio_error(err: Exception) -> gr.Error:
    """A user's mistake keeps its message (and no traceback in the server log); anything
    else is logged with its traceback and shown as a generic message."""
    if isinstance(err, USER_ERRORS):
        return gr.Error(str(err), print_exception=False)
    log.exception("demo handler failed")
    return gr.Error(f"Something went wrong on the server ({type(err).__name__}); please try again.")


def shows_errors(fn):
    """Show a user's mistake (a bad file, an empty message) as a message on the page, and
    keep serving: Gradio turns ``gr.Error`` into a pop-up and the API into an error."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as err:
                raise _as_gradio_error(err) from None

        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as err:
            raise _as_gradio_error(err) from None

    return call


def figure_image(fig) -> np.ndarray:
    """A matplotlib figure as an (H, W, 3) uint8 image.

    The demo's figures are ``matplotlib.figure.Figure`` objects, never pyplot's: pyplot
    keeps global state that threads drawing at once (and a notebook's inline backend,
    when the app runs inside a lab) must not share.
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


class FigureCache:
    """Figures of the example cases, drawn once and saved as PNG files.

    An example's slices, contributions and attention map are the same for every user, and
    drawing them (0.1-0.4 s of matplotlib each, holding Python's lock) costs more than the
    prediction; a class would otherwise wait on it. Uploads are always drawn afresh.
    """

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="medai-edu-demo-"))
        self.paths: dict[str, str] = {}
        self._lock = threading.Lock()
        # Removed when the cache goes, or at exit (serve turns SIGTERM into an exit).
        weakref.finalize(self, shutil.rmtree, str(self.folder), True)

    def get(self, key: str, draw) -> str:
        """The PNG of figure ``key``, drawing it with ``draw()`` the first time."""
        with self._lock:
            if key not in self.paths:
                path = self.folder / f"{len(self.paths):04d}.png"
                draw().savefig(path, dpi=100)
                self.paths[key] = str(path)
            return self.paths[key]

    def image(self, key: str, array: np.ndarray) -> str:
        """The PNG of an (H, W, 3) uint8 picture, saved the first time."""
        with self._lock:
            if key not in self.paths:
                from PIL import Image

                path = self.folder / f"{len(self.paths):04d}.png"
                Image.fromarray(np.asarray(array, np.uint8)).save(path)
                self.paths[key] = str(path)
            return self.paths[key]


def _label(probabilities: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in probabilities.items()}


# --------------------------------------------------------------------------- state


@dataclass
class DemoState:
    """Models, examples and what is computed once for them (specialists, example slides)."""

    models: DemoModels
    examples: Examples
    slide_cases: list  # slides.SlideCase per example slide
    specialists: dict  # modality -> list of (name, diagnosis, probability) per example
    seconds: float = 0.0
    figures: FigureCache = field(default_factory=FigureCache)

    @classmethod
    def load(cls) -> DemoState:
        start = time.perf_counter()
        models, examples = load_demo_models(), load_examples()
        slide_cases = [
            slides.read_slide_case(path, f"example slide {i + 1}")
            for i, path in enumerate(examples.slide_files)
        ]
        state = cls(models, examples, slide_cases, {})
        state.specialists = state._specialists()
        state.seconds = time.perf_counter() - start
        return state

    def _specialists(self) -> dict:
        """MOME-mini on the 3D case and mSTAR-mini on the whole slide behind each example
        image: what goes into MedDr-mini's prompt when the specialist is switched on."""
        hints = {"breast-mri": [], "pathology": []}
        for i in range(len(self.examples.mri)):
            inputs = breast_mri.example_inputs(self.examples.mri, i)
            p = breast_mri.predict_mri(self.models.mome, inputs).malignancy
            best = max(p, key=p.get)
            hints["breast-mri"].append(("mome-mini", best, p[best]))
        for case in self.slide_cases:
            p = slides.predict_slide(self.models.slides, case).probabilities
            best = max(p, key=p.get)
            hints["pathology"].append(("mstar-mini", best, p[best]))
        return hints

    def chat_examples(self) -> list[str]:
        return [
            f"{CHAT_SOURCES[m]} {i + 1}"
            for m, cases in self.examples.images.items()
            for i in range(len(cases))
        ]

    def chat_example(self, label: str):
        """(modality, image (3, s, s), example index) of a chat example's label."""
        for m, name in CHAT_SOURCES.items():
            number = str(label).removeprefix(name + " ")
            if number.isdigit() and 0 < int(number) <= len(self.examples.images[m]):
                i = int(number) - 1
                return m, self.examples.images[m].images[i], i
        raise ValueError(f"unknown example image {label!r}; choose one of {self.chat_examples()}")


def _index(label: str, labels: list[str], what: str) -> int:
    if label not in labels:
        raise ValueError(f"unknown {what} {label!r}; choose one of {labels}")
    return labels.index(label)


# --------------------------------------------------------------------------- MOME-mini

MRI_INTRO = (
    "### MOME-mini: breast MRI\nPick an example case, or upload one: NIfTI files named "
    "by modality (`dce.nii.gz` with 5 phases, `t2.nii.gz`, `dwi.nii.gz` with 2 b-values "
    "and `adc.nii.gz`), or a `.zip` of them or of a DICOM series per image. Missing "
    "modalities are allowed. Then switch a modality off to see what it added.\n\n"
)


def contribution_figure(prediction: breast_mri.MRIPrediction) -> Figure:
    """The viz layer's bars of what each modality adds to the malignancy logit (nats), on a
    Figure of the demo's own (not pyplot's: the server draws in many threads at once)."""
    ax = Figure(figsize=(5, 3.6), layout="constrained").subplots()
    return plot_modality_contributions(prediction.contributions, class_name="malignancy", ax=ax)


def _mri_inputs(labels: list[str]) -> list:
    """The example case, the upload and the modality to switch off, in one row."""
    with gr.Row():
        example = gr.Dropdown(labels, value=labels[0], label="example case")
        upload = gr.File(
            file_count="multiple", file_types=[".nii", ".gz", ".zip"], label="or upload a case"
        )
        switch = gr.Dropdown(
            [NO_SWITCH, *breast_mri.MODALITY_NAMES.values()],
            value=NO_SWITCH,
            label="switch a modality off",
        )
    return [example, upload, switch]


def _mri_outputs(quality: dict[str, str]) -> list:
    """Slices, the three predictions (each with how good it is on held-out cases), the
    contributions and the switched-off malignancy."""
    slices_image = gr.Image(label="slices of each modality", type="numpy", elem_id="mri-slices")
    with gr.Row():
        malignancy = gr.Label(label="malignancy", elem_id="mri-malignancy")
        subtype = gr.Label(label="molecular subtype (if malignant)")
        pcr = gr.Label(label="pCR after neoadjuvant therapy (if malignant)")
    if any(quality.values()):
        gr.Markdown(
            "**How good is each answer?** "
            + " ".join(f"*{name}*: {text}." for name, text in quality.items() if text),
            elem_id="mri-head-quality",
        )
    with gr.Row():
        contributions = gr.Image(
            label="modality contributions", type="numpy", elem_id="mri-contributions"
        )
        without = gr.Label(label="malignancy with the modality switched off")
    details = gr.JSON(label="all numbers")
    return [slices_image, malignancy, subtype, pcr, contributions, without, details]


def _mri_predictor(state: DemoState, labels: list[str]):
    """The handler of the Predict button: an upload is drawn afresh, an example cached."""

    @shows_errors
    def predict_mri(example_label, files, switched):
        names = {v: k for k, v in breast_mri.MODALITY_NAMES.items()}
        off = None if switched in (None, NO_SWITCH) else names.get(switched, switched)
        if files:
            inputs = model_inputs(read_mri_upload([getattr(f, "name", f) for f in files]))
            prediction = breast_mri.predict_mri(state.models.mome, inputs, off)
            slices = figure_image(breast_mri.plot_mri_case(inputs, "Uploaded case"))
            bars = figure_image(contribution_figure(prediction))
        else:
            i = _index(example_label, labels, "example case")
            inputs = breast_mri.example_inputs(state.examples.mri, i)
            prediction = breast_mri.predict_mri(state.models.mome, inputs, off)
            slices = state.figures.get(
                f"mri-slices-{i}", lambda: breast_mri.plot_mri_case(inputs, example_label)
            )
            bars = state.figures.get(
                f"mri-contributions-{i}", lambda: contribution_figure(prediction)
            )
        return (
            slices,
            _label(prediction.malignancy),
            _label(prediction.subtype),
            _label(prediction.pcr),
            bars,
            _label(prediction.malignancy_without) if prediction.malignancy_without else None,
            prediction.as_dict(),
        )

    return predict_mri


def _mri_tab(state: DemoState) -> None:
    labels = state.examples.mri_labels()
    gr.Markdown(MRI_INTRO + DISCLAIMER)
    inputs = _mri_inputs(labels)
    button = gr.Button("Predict", variant="primary", elem_id="mri-predict")
    outputs = _mri_outputs(breast_mri.head_quality(state.models.mome))
    button.click(_mri_predictor(state, labels), inputs, outputs, api_name="predict_mri")


# --------------------------------------------------------------------------- mSTAR-mini

SLIDE_INTRO = (
    "### mSTAR-mini: whole-slide pathology\nPick an example slide or upload a small "
    "slide (pyramidal TIFF or `.svs`). mSTAR-mini reads its tissue tiles, predicts the "
    "tumour type, shows where its attention went and finds the most similar reports "
    "in its archive.\n\n"
)


def _slide_outputs() -> list:
    """Thumbnail and attention heatmap side by side, the tumour type, the similar reports."""
    with gr.Row():
        thumbnail = gr.Image(label="thumbnail", type="numpy")
        heatmap = gr.Image(label="attention heatmap", type="numpy", elem_id="slide-heatmap")
    tumour_type = gr.Label(label="tumour type", elem_id="slide-tumour-type")
    reports = gr.Dataframe(
        headers=["rank", "similarity", "report"],
        label="most similar reports",
        wrap=True,
        column_widths=["8%", "12%", "80%"],
        elem_id="slide-reports",
    )
    return [thumbnail, heatmap, tumour_type, reports]


def _slide_predictor(state: DemoState, labels: list[str]):
    """The handler of the Predict button: an upload is drawn afresh, an example cached."""

    @shows_errors
    def predict_slide(example_label, file):
        if file:
            case = slides.read_slide_case(getattr(file, "name", file), "uploaded slide")
        else:
            case = state.slide_cases[_index(example_label, labels, "example slide")]
        prediction = slides.predict_slide(state.models.slides, case)
        rows = [[r["rank"], r["similarity"], r["report"]] for r in prediction.reports]

        def draw():
            return slides.plot_attention(case, prediction.attention, f"Attention: {case.name}")

        if file:
            thumbnail, heatmap = case.tiles.thumbnail, figure_image(draw())
        else:
            heatmap = state.figures.get(f"slide-attention-{example_label}", draw)
            thumbnail = state.figures.image(
                f"slide-thumbnail-{example_label}", case.tiles.thumbnail
            )
        return thumbnail, heatmap, _label(prediction.probabilities), rows

    return predict_slide


def _slide_tab(state: DemoState) -> None:
    labels = state.examples.slide_labels()
    gr.Markdown(SLIDE_INTRO + DISCLAIMER)
    with gr.Row():
        example = gr.Dropdown(labels, value=labels[0], label="example slide")
        upload = gr.File(file_types=[".tif", ".tiff", ".svs"], label="or upload a slide")
    button = gr.Button("Predict", variant="primary", elem_id="slide-predict")
    outputs = _slide_outputs()
    button.click(
        _slide_predictor(state, labels), [example, upload], outputs, api_name="predict_slide"
    )


# --------------------------------------------------------------------------- MedDr-mini

CHAT_INTRO = (
    "### MedDr-mini: ask about an image\nPick an example image (or upload a picture "
    "and say what it is), then ask, e.g. *what is the diagnosis?* or *write a short "
    "report.* Switch on retrieval to put the diagnoses of the five most similar "
    "archived cases into the prompt, and the specialist to add MOME-mini's or "
    "mSTAR-mini's opinion (examples only: it reads the whole 3D case or slide). "
    "MedDr-mini answers each question on its own; it does not remember the chat.\n\n"
)


def _chat_image_inputs(labels: list[str]) -> list:
    """The example image or an upload and its kind; whether retrieval and the specialist
    go into the prompt."""
    with gr.Row():
        example = gr.Dropdown(labels, value=labels[0], label="example image")
        upload = gr.Image(type="numpy", label="or upload a picture")
        kind = gr.Dropdown(list(CHAT_SOURCES), value="breast-mri", label="the upload is a")
    with gr.Row():
        use_retrieval = gr.Checkbox(value=True, label="retrieval in the prompt")
        use_specialist = gr.Checkbox(value=False, label="specialist in the prompt")
    return [example, upload, kind, use_retrieval, use_specialist]


def _chat_prompt_outputs() -> list:
    """What went into the answer: the image as the model sees it, the retrieved cases, the
    prompt."""
    with gr.Row():
        seen = gr.Image(label="the image MedDr-mini sees (32 x 32 px)", type="numpy")
        retrieved = gr.Dataframe(
            headers=["rank", "archive case", "diagnosis", "similarity"],
            label="retrieved cases used in the prompt",
        )
    prompt_box = gr.Textbox(label="the prompt MedDr-mini read (after the image)")
    return [seen, retrieved, prompt_box]


def _chat_image(state: DemoState, example_label, picture, picture_kind, specialist):
    """(modality, image (3, s, s), specialist's hint or None) of an upload or an example;
    warns on the page when the specialist asked for has nothing to say."""
    if picture is not None:
        image = chat.prepare_image(picture)
        if specialist:
            gr.Warning("No specialist for an uploaded picture: it needs the 3D case or slide.")
        return picture_kind, image, None
    modality, image, i = state.chat_example(example_label)
    hints = state.specialists.get(modality)
    if specialist and not hints:
        gr.Warning(f"No specialist model for {CHAT_SOURCES[modality]} images.")
    return modality, image, hints[i] if specialist and hints else None


def _chat_responder(state: DemoState):
    """The handler of Send (and of Enter in the question box): streams the answer."""

    @shows_errors
    def chat_with_image(
        question, history, example_label, picture, picture_kind, retrieval, specialist
    ):
        modality, image, hint = _chat_image(state, example_label, picture, picture_kind, specialist)
        found = chat.retrieve(state.models, modality, image) if retrieval else []
        config = state.models.generalist.config
        prompt, ids = chat.chat_prompt(
            state.models.tokenizer,
            modality,
            question,
            found,
            hint,
            context_tokens=config.block_size - config.n_visual_tokens,
        )
        rows = [[r + 1, c.index, c.diagnosis, round(c.similarity, 5)] for r, c in enumerate(found)]
        shown = (image.transpose(1, 2, 0) * 255).astype(np.uint8)
        history = [
            *(history or []),
            {"role": "user", "content": question},
            {"role": "assistant", "content": ""},
        ]
        yield history, "", shown, rows, prompt
        for text in chat.stream_answer(state.models, image, ids):
            history[-1] = {"role": "assistant", "content": text}
            yield history, "", shown, rows, prompt

    return chat_with_image


def _chat_tab(state: DemoState) -> None:
    gr.Markdown(CHAT_INTRO + DISCLAIMER)
    example, upload, kind, use_retrieval, use_specialist = _chat_image_inputs(state.chat_examples())
    chatbot = gr.Chatbot(label="MedDr-mini", height=320, elem_id="chat-chatbot")
    message = gr.Textbox(
        label="your question", placeholder="what is the diagnosis?", elem_id="chat-question"
    )
    send = gr.Button("Send", variant="primary", elem_id="chat-send")
    outputs = [chatbot, message, *_chat_prompt_outputs()]
    inputs = [message, chatbot, example, upload, kind, use_retrieval, use_specialist]
    chat_with_image = _chat_responder(state)
    send.click(chat_with_image, inputs, outputs, api_name="chat")
    message.submit(chat_with_image, inputs, outputs, api_name=False)


# --------------------------------------------------------------------------- XAIM-mini

XAIM_INTRO = (
    "### XAIM-mini: why did the model decide?\nPick a model, a case and an explanation "
    "method: the map shows what the model's decision rests on; the sentence comes from "
    "a concept bottleneck that reads clinical concepts first. Correct a concept to see "
    "how the diagnosis would change.\n\n"
)


def _xaim_cases(state: DemoState) -> dict[str, list[str]]:
    """Model name -> the labels of its example cases."""
    return {"mome-mini": state.examples.mri_labels(), "mstar-mini": state.examples.slide_labels()}


def _xaim_case(state: DemoState, model_name: str, case_label: str):
    """(the model's batch of one, the extra its explanation figure needs) of an example."""
    i = _index(case_label, _xaim_cases(state).get(model_name, []), "case")
    if model_name == "mome-mini":
        batch = breast_mri.example_inputs(state.examples.mri, i)
        return batch, {"mask": state.examples.mri.mask[i]}
    return state.slide_cases[i].batch(), {"slide": state.slide_cases[i]}


def _xaim_choices(state: DemoState, first: str) -> list:
    """The model, case and method to explain, in one row."""
    cases = _xaim_cases(state)
    methods = list(explanations.methods_for(first))
    with gr.Row():
        model = gr.Dropdown(list(explanations.EXPLAINED), value=first, label="model")
        # Choices change with the model: values are checked by the handlers, not by Gradio.
        case = gr.Dropdown(
            cases[first], value=cases[first][0], label="case", allow_custom_value=True
        )
        method = gr.Dropdown(methods, value=methods[0], label="method", allow_custom_value=True)
    return [model, case, method]


def _xaim_correction(state: DemoState, first: str) -> list:
    """The concept to correct, its new value and the button that applies it, in one row."""
    concepts = explanations.concept_values(state.models, first)
    first_concept = next(iter(concepts))
    with gr.Row():
        concept = gr.Dropdown(
            list(concepts), value=first_concept, label="correct a concept", allow_custom_value=True
        )
        value = gr.Dropdown(
            list(concepts[first_concept]), label="to the value", allow_custom_value=True
        )
        correct = gr.Button("Apply the correction")
    return [concept, value, correct]


def _xaim_explainers(state: DemoState):
    """The handlers of Explain and of Apply the correction."""

    @shows_errors
    def explain_decision(model_name, case_label, method_name):
        batch, extra = _xaim_case(state, model_name, case_label)
        result = explanations.explain_case(state.models, model_name, batch, method_name)
        figure = explanations.plot_explanation(model_name, batch, result, case_label, **extra)
        words, probabilities = explanations.concept_text(state.models, model_name, batch)
        return figure_image(figure), words.text, _label(probabilities)

    @shows_errors
    def correct_concept(model_name, case_label, concept_name, concept_value):
        if not concept_value:
            raise ValueError("pick the value the concept should have")
        batch, _ = _xaim_case(state, model_name, case_label)
        correction = {concept_name: concept_value}
        words, probabilities = explanations.concept_text(
            state.models, model_name, batch, correction
        )
        return f"With {concept_name} = {concept_value}: {words.text}", _label(probabilities)

    return explain_decision, correct_concept


def _xaim_updaters(state: DemoState):
    """What a change of model or of concept does to the other dropdowns' choices."""
    cases = _xaim_cases(state)

    def model_changed(model_name):
        names = explanations.concept_values(state.models, model_name)
        first_name = next(iter(names))
        methods = list(explanations.methods_for(model_name))
        return (
            gr.Dropdown(choices=cases[model_name], value=cases[model_name][0]),
            gr.Dropdown(choices=methods, value=methods[0]),
            gr.Dropdown(choices=list(names), value=first_name),
            gr.Dropdown(choices=list(names[first_name]), value=None),
        )

    def concept_changed(model_name, concept_name):
        names = explanations.concept_values(state.models, model_name)
        return gr.Dropdown(choices=list(names.get(concept_name, ())), value=None)

    return model_changed, concept_changed


def _xaim_tab(state: DemoState) -> None:
    first = next(iter(explanations.EXPLAINED))
    gr.Markdown(XAIM_INTRO + DISCLAIMER)
    model, case, method = _xaim_choices(state, first)
    button = gr.Button("Explain", variant="primary", elem_id="xaim-explain")
    overlay = gr.Image(label="explanation", type="numpy", elem_id="xaim-explanation")
    with gr.Row():
        text = gr.Textbox(label="in words (concept bottleneck)", elem_id="xaim-words")
        diagnosis = gr.Label(label="concept bottleneck's diagnosis")
    concept, value, correct = _xaim_correction(state, first)
    explain_decision, correct_concept = _xaim_explainers(state)
    model_changed, concept_changed = _xaim_updaters(state)
    model.change(model_changed, model, [case, method, concept, value], api_name=False)
    concept.change(concept_changed, [model, concept], value, api_name=False)
    button.click(
        explain_decision, [model, case, method], [overlay, text, diagnosis], api_name="explain"
    )
    correct.click(
        correct_concept,
        [model, case, concept, value],
        [text, diagnosis],
        api_name="correct_concept",
    )


# --------------------------------------------------------------------------- the app


def build_app(state: DemoState | None = None) -> gr.Blocks:
    """The four tabs in one ``gr.Blocks``, queued for a class (not launched)."""
    state = state or DemoState.load()
    with gr.Blocks(title="medai-edu demos") as app:
        gr.Markdown("# medai-edu: the course's four models\n" + DISCLAIMER)
        with gr.Tab("MOME-mini (breast MRI)"):
            _mri_tab(state)
        with gr.Tab("mSTAR-mini (slides)"):
            _slide_tab(state)
        with gr.Tab("MedDr-mini (chat)"):
            _chat_tab(state)
        with gr.Tab("XAIM-mini (explanations)"):
            _xaim_tab(state)
    app.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    app.demo_state = state
    return app


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(port: int = 7860, host: str = "127.0.0.1", inline: bool = False, block: bool = True):
    """Build and launch the app and return it (``app.close()`` stops it).

    ``block``: serve until Ctrl-C or SIGTERM (the command line); otherwise return at once
    and serve from a background thread (a notebook, with ``inline=True`` to show the app
    under the cell). Sets PyTorch's thread count for the whole process.
    """
    # Two cores shared by CONCURRENCY requests: one thread each keeps them from fighting.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // CONCURRENCY))
    app = build_app()
    app.launch(
        server_name=host,
        server_port=port,
        inline=inline,
        prevent_thread_lock=True,
        show_error=True,
        max_file_size=MAX_FILE_SIZE,
        quiet=not block,
    )
    if block:  # until Ctrl-C, or SIGTERM (a test, a service manager), which stops it alike
        signal.signal(signal.SIGTERM, _interrupt)
        app.block_thread()
    return app

"""The transformers adapter, with a tiny randomly initialised model saved in the test."""

import numpy as np
import pytest

from medai_edu.experiments.generalist_hf import TransformersGeneralist
from medai_edu.models.tokenizer import CourseTokenizer


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = tmp_path_factory.mktemp("tiny-gpt2")
    tokenizer = CourseTokenizer(300).fit(["image: breast mri. similar cases: malignant."] * 5)
    hf_tokenizer = tokenizer.to_transformers()
    config = GPT2Config(
        vocab_size=tokenizer.vocab_size, n_positions=128, n_embd=32, n_layer=1, n_head=2
    )
    GPT2LMHeadModel(config).save_pretrained(folder)
    hf_tokenizer.save_pretrained(folder)
    return folder


def test_retrieval_and_specialist_reach_the_local_model(model_folder):
    generalist = TransformersGeneralist(model_folder)
    assert not generalist.is_vision_language
    text = generalist.answer(
        "breast-mri",
        "which diagnosis fits? options: (a) benign (b) malignant.",
        retrieved=["malignant", "malignant"],
        specialist=("mome-mini", "malignant", 0.9),
        max_new_tokens=5,
    )
    assert isinstance(text, str)
    assert "similar cases: malignant 2 of 2." in generalist.last_prompt
    assert "specialist mome-mini: malignant (0.90)." in generalist.last_prompt
    again = generalist.answer(
        "breast-mri",
        "which diagnosis fits? options: (a) benign (b) malignant.",
        retrieved=["malignant", "malignant"],
        specialist=("mome-mini", "malignant", 0.9),
        max_new_tokens=5,
    )
    assert again == text  # greedy


@pytest.fixture(scope="module")
def vision_language_folder(tmp_path_factory):
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    folder = tmp_path_factory.mktemp("tiny-llava")
    tokenizer = CourseTokenizer(300).fit(["image: breast mri. similar cases: benign."] * 5)
    hf_tokenizer = tokenizer.to_transformers()
    hf_tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
    )
    text = LlamaConfig(
        vocab_size=len(hf_tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=hf_tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-1,
    )
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    LlavaProcessor(
        image_processor=images,
        tokenizer=hf_tokenizer,
        patch_size=8,
        vision_feature_select_strategy="full",
        image_token="<image>",
    ).save_pretrained(folder)
    return folder


def test_a_vision_language_model_also_sees_the_image(vision_language_folder):
    generalist = TransformersGeneralist(vision_language_folder)
    assert generalist.is_vision_language
    image = np.random.default_rng(0).random((3, 32, 32))
    text = generalist.answer("ihc", "is it positive?", image, retrieved=["dab positive"])
    assert isinstance(text, str)
    assert generalist.last_inputs["pixel_values"].shape[-2:] == (32, 32)
    assert "similar cases: dab positive 1 of 1." in generalist.last_prompt
    with pytest.raises(ValueError, match="give the image"):
        generalist.answer("ihc", "is it positive?")


def test_bad_folders_and_questions_are_named(model_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="no model folder"):
        TransformersGeneralist(tmp_path / "nothing")
    with pytest.raises(ValueError, match="no config.json"):
        TransformersGeneralist(tmp_path)
    with pytest.raises(ValueError, match="question is empty"):
        TransformersGeneralist(model_folder).answer("ihc", "")

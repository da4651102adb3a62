"""Tiny, randomly initialised diffusers pipelines saved to a folder, built offline.

Each ``save_*`` builds a pipeline of the real class with toy-sized components (the shapes
follow diffusers' own fast tests), seeds torch first so a folder's weights are the same on
every run, and writes it with ``save_pretrained(..., safe_serialization=True)``. Tokenizers
are built from vocabularies written here, so nothing touches the network. The pipelines
produce noise, not pictures: they exercise the refiner's plumbing, never its quality.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

__all__ = ["save_tiny_sd_inpaint", "save_tiny_sd_controlnet_inpaint", "save_tiny_wan_vace"]

_HIDDEN = 32  # text embedding width shared by the text encoders and the denoisers' cross attention


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character table (what byte-level BPE pre-tokenises to)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def _clip_tokenizer(folder: Path):
    """A byte-level BPE CLIP tokenizer with single characters only (no merges), from files written to ``folder``."""
    from transformers import CLIPTokenizer

    symbols = sorted(set(_bytes_to_unicode().values()))
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in symbols:
        vocab[symbol] = len(vocab)
        vocab[symbol + "</w>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)


def _clip_text_encoder(vocab_size: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=_HIDDEN,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=vocab_size,
        max_position_embeddings=77,
    )
    return CLIPTextModel(config).eval()


def _sd_parts() -> dict:
    """UNet (9 input channels: latents, mask, masked-image latents), VAE, CLIP text side, scheduler."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=9,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=_HIDDEN,
        attention_head_dim=8,
    )
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        sample_size=64,
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = _clip_tokenizer(Path(scratch))
    torch.manual_seed(0)
    text_encoder = _clip_text_encoder(len(tokenizer))
    return {"unet": unet, "vae": vae, "scheduler": scheduler, "text_encoder": text_encoder, "tokenizer": tokenizer}


def save_tiny_sd_inpaint(folder: Path) -> Path:
    """A tiny ``StableDiffusionInpaintPipeline`` (no safety checker) saved to ``folder``."""
    from diffusers import StableDiffusionInpaintPipeline

    folder = Path(folder)
    parts = _sd_parts()
    pipe = StableDiffusionInpaintPipeline(
        **parts, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


def save_tiny_sd_controlnet_inpaint(folder: Path) -> Path:
    """A tiny ``StableDiffusionControlNetInpaintPipeline`` with one ControlNet, saved to ``folder``."""
    import torch
    from diffusers import ControlNetModel, StableDiffusionControlNetInpaintPipeline

    folder = Path(folder)
    parts = _sd_parts()
    torch.manual_seed(0)
    controlnet = ControlNetModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        in_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        cross_attention_dim=_HIDDEN,
        attention_head_dim=8,
        # one stride-2 stage: the control image lands on the latent grid of the 2-level VAE
        conditioning_embedding_out_channels=(16, 32),
    )
    # A ControlNet starts with zeroed output convolutions (it adds nothing until trained); give
    # them weights so the control image reaches the UNet and a test can see that it does.
    with torch.no_grad():
        zeroed = [controlnet.controlnet_cond_embedding.conv_out, controlnet.controlnet_mid_block]
        for conv in [*zeroed, *controlnet.controlnet_down_blocks]:
            conv.weight.normal_(0.0, 0.3)
    pipe = StableDiffusionControlNetInpaintPipeline(
        **parts, controlnet=controlnet, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


def _t5_tokenizer():
    """A unigram T5 tokenizer over lower-case letters and digits, built from an in-memory vocabulary."""
    from transformers import T5Tokenizer

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    for char in "abcdefghijklmnopqrstuvwxyz0123456789":
        vocab.append(("▁" + char, -3.0))
        vocab.append((char, -4.0))
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def save_tiny_wan_vace(folder: Path) -> Path:
    """A tiny ``WanVACEPipeline`` (UMT5 text encoder, 3-D VAE, VACE transformer) saved to ``folder``."""
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    folder = Path(folder)
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    scheduler = FlowMatchEulerDiscreteScheduler(shift=7.0)
    tokenizer = _t5_tokenizer()
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=_HIDDEN,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    ).eval()
    torch.manual_seed(0)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=_HIDDEN,
        freq_dim=256,
        ffn_dim=32,
        num_layers=3,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        vace_layers=[0, 2],
        vace_in_channels=96,
    )
    pipe = WanVACEPipeline(
        transformer=transformer, vae=vae, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder

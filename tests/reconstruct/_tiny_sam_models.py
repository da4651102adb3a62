"""Tiny, randomly initialised SAM 2 video and SAM 3 video models saved with ``save_pretrained``.

They load through the same code path as real checkpoints (a folder with ``config.json`` and
safetensors, plus a tokenizer for SAM 3), so tests exercise the SAM backends end to end on a
CPU in seconds. Random weights give meaningless masks: tests that use these models check
plumbing, shapes and conventions, never segmentation quality.

Usage::

    folder = save_tiny_sam2(tmp_path / "sam2")          # Sam2VideoModel, input side 256
    folder = save_tiny_sam3(tmp_path / "sam3")          # Sam3VideoModel + CLIP tokenizer, side 112
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["save_tiny_sam2", "save_tiny_sam3", "TINY_SAM2_SIDE", "TINY_SAM3_SIDE"]

TINY_SAM2_SIDE = 256
"""Input side of the tiny SAM 2 model (the real one's is 1024)."""
TINY_SAM3_SIDE = 112
"""Input side of the tiny SAM 3 model (8 patches of 14; the real one's is 1008)."""


def save_tiny_sam2(folder: str | Path, *, image_size: int = TINY_SAM2_SIDE, seed: int = 0) -> Path:
    """Save a tiny random ``Sam2VideoModel`` (Hiera backbone, 4 stages) to ``folder``; return it.

    ``image_size`` must be a multiple of 32 (the backbone's total stride).
    """
    import torch
    from transformers import Sam2VideoConfig, Sam2VideoModel
    from transformers.models.sam2.configuration_sam2 import Sam2HieraDetConfig, Sam2VisionConfig

    if image_size % 32:
        raise ValueError(f"image_size must be a multiple of 32, got {image_size}")
    hidden = 128  # > the memory channels (64): object pointers are split into memory-sized tokens
    s = image_size
    backbone = Sam2HieraDetConfig(
        hidden_size=8,
        num_attention_heads=1,
        image_size=[s, s],
        blocks_per_stage=[1, 1, 2, 1],
        embed_dim_per_stage=[8, 16, 32, 64],
        num_attention_heads_per_stage=[1, 1, 2, 2],
        window_size_per_stage=[8, 4, 4, 2],
        global_attention_blocks=[3],
        window_positional_embedding_background_size=[4, 4],
    )
    vision = Sam2VisionConfig(
        backbone_config=backbone,
        backbone_channel_list=[64, 32, 16, 8],
        backbone_feature_sizes=[[s // 4, s // 4], [s // 8, s // 8], [s // 16, s // 16]],
        fpn_hidden_size=hidden,
    )
    config = Sam2VideoConfig(
        vision_config=vision,
        prompt_encoder_config=dict(hidden_size=hidden, image_size=s, patch_size=16, mask_input_channels=4),
        mask_decoder_config=dict(hidden_size=hidden, mlp_dim=32, num_hidden_layers=1, num_attention_heads=2,
                                 iou_head_hidden_dim=16),
        image_size=s,
        num_maskmem=3,
        max_object_pointers_in_encoder=4,
        memory_attention_hidden_size=hidden,
        memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=32,
        memory_attention_rope_feat_sizes=[s // 16, s // 16],
        memory_encoder_hidden_size=hidden,
        memory_encoder_output_channels=64,  # the memory attention reads 64 channels (fixed in transformers)
        mask_downsampler_embed_dim=hidden,
        memory_fuser_num_layers=1,
        memory_fuser_embed_dim=hidden,
        memory_fuser_intermediate_dim=32,
    )
    torch.manual_seed(seed)
    model = Sam2VideoModel(config).eval()
    folder = Path(folder)
    model.save_pretrained(folder)
    return folder


def save_tiny_sam3(folder: str | Path, *, seed: int = 0) -> Path:
    """Save a tiny random ``Sam3VideoModel`` (detector with a CLIP text encoder, and tracker) and
    a CLIP tokenizer built from a small vocabulary written here to ``folder``; return it."""
    import torch
    from transformers import Sam3VideoConfig, Sam3VideoModel
    from transformers.models.sam3.configuration_sam3 import (
        Sam3Config,
        Sam3DETRDecoderConfig,
        Sam3DETREncoderConfig,
        Sam3GeometryEncoderConfig,
        Sam3MaskDecoderConfig,
        Sam3VisionConfig,
        Sam3ViTConfig,
    )
    from transformers.models.sam3_tracker_video.configuration_sam3_tracker_video import Sam3TrackerVideoConfig

    s, patch, heads = TINY_SAM3_SIDE, 14, 4
    hidden = 128  # > the tracker's memory channels (64), and the tracker shares the detector's FPN
    grid = s // patch
    backbone = Sam3ViTConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=heads, intermediate_size=64,
        image_size=s, patch_size=patch, window_size=4, global_attn_indexes=[1],
    )
    vision = Sam3VisionConfig(backbone_config=backbone, fpn_hidden_size=hidden, scale_factors=[4.0, 2.0, 1.0, 0.5])
    vocab_size = _write_clip_tokenizer(Path(folder))
    detector = Sam3Config(
        vision_config=vision,
        text_config=dict(vocab_size=vocab_size, bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
                         pad_token_id=vocab_size - 1, hidden_size=32, intermediate_size=64, projection_dim=32,
                         num_hidden_layers=1, num_attention_heads=4, max_position_embeddings=32, hidden_act="gelu"),
        geometry_encoder_config=Sam3GeometryEncoderConfig(hidden_size=hidden, num_layers=1, num_attention_heads=heads,
                                                          intermediate_size=64, mask_fuser_hidden_size=hidden,
                                                          mask_fuser_num_layers=1),
        detr_encoder_config=Sam3DETREncoderConfig(hidden_size=hidden, num_layers=1, num_attention_heads=heads,
                                                  intermediate_size=64),
        detr_decoder_config=Sam3DETRDecoderConfig(hidden_size=hidden, num_layers=1, num_queries=5,
                                                  num_attention_heads=heads, intermediate_size=64),
        mask_decoder_config=Sam3MaskDecoderConfig(hidden_size=hidden, num_upsampling_stages=2),
    )
    tracker = Sam3TrackerVideoConfig(
        vision_config=dict(backbone_config=backbone.to_dict(), fpn_hidden_size=hidden,
                           backbone_feature_sizes=[[4 * grid] * 2, [2 * grid] * 2, [grid] * 2]),
        prompt_encoder_config=dict(hidden_size=hidden, image_size=s, patch_size=patch, mask_input_channels=4),
        mask_decoder_config=dict(hidden_size=hidden, mlp_dim=32, num_hidden_layers=1, num_attention_heads=2,
                                 iou_head_hidden_dim=16),
        num_maskmem=3,
        max_object_pointers_in_encoder=4,
        memory_attention_hidden_size=hidden,
        memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=32,
        memory_attention_rope_feat_sizes=[grid, grid],
        memory_encoder_hidden_size=hidden,
        memory_encoder_output_channels=64,  # the memory attention reads 64 channels (fixed in transformers)
        mask_downsampler_embed_dim=hidden,
        memory_fuser_num_layers=1,
        memory_fuser_embed_dim=hidden,
        memory_fuser_intermediate_dim=32,
        image_size=s,
    )
    config = Sam3VideoConfig(detector_config=detector, tracker_config=tracker, low_res_mask_size=4 * grid)
    torch.manual_seed(seed)
    model = Sam3VideoModel(config).eval()
    folder = Path(folder)
    model.save_pretrained(folder)
    return folder


def _write_clip_tokenizer(folder: Path) -> int:
    """Write a CLIP tokenizer (byte-level BPE over lower-case letters, no merges beyond single
    characters and a few words) to ``folder``; return its vocabulary size."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)] + list(",.-'")
    tokens = letters + [f"{t}</w>" for t in letters]
    merges = ["t h", "th e</w>", "r e", "re d</w>"]
    tokens += ["th", "the</w>", "re", "red</w>"]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(tokens)}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[tuple(m.split()) for m in merges])
    tokenizer.model_max_length = 32
    tokenizer.save_pretrained(folder)
    return len(vocab)

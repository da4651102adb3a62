"""Objects: prompts and prompted segmentation, mask tracking, proposals from the geometry,
static/moving classification, lifting into layers, and per-frame instance maps."""

from ._classify import classify_static
from ._instances import instance_maps
from ._lift import lift_object, lift_objects
from ._people import PeopleProposer, PeopleProposerConfig, PersonSegmenter, bundled_person_model
from ._prompt import ObjectPrompt, parse_object_prompt
from ._sam import Sam2Segmenter, Sam2SegmenterConfig, Sam3Segmenter, Sam3SegmenterConfig
from ._proposals import GeometryProposer, ObjectProposer, ProposalConfig, propose_objects
from ._segment import GraphCutSegmenter, GraphCutSegmenterConfig, PromptableSegmenter, SegmentResult, segment_prompt
from ._track import FlowTracker, FlowTrackerConfig, MaskTracker, track_object
from ._types import TrackedMasks

__all__ = [
    "FlowTracker",
    "FlowTrackerConfig",
    "GeometryProposer",
    "GraphCutSegmenter",
    "GraphCutSegmenterConfig",
    "MaskTracker",
    "ObjectPrompt",
    "ObjectProposer",
    "PeopleProposer",
    "PeopleProposerConfig",
    "PersonSegmenter",
    "PromptableSegmenter",
    "ProposalConfig",
    "Sam2Segmenter",
    "Sam2SegmenterConfig",
    "Sam3Segmenter",
    "Sam3SegmenterConfig",
    "SegmentResult",
    "TrackedMasks",
    "classify_static",
    "instance_maps",
    "lift_object",
    "lift_objects",
    "bundled_person_model",
    "parse_object_prompt",
    "propose_objects",
    "segment_prompt",
    "track_object",
]

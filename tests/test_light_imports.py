"""Optional stacks stay optional: the packages, the registry and the command line's parser
load without transformers, diffusers, ai-edge-litert or the vggt package, and import none of
them (a backend imports its stack when it is built)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("transformers", "diffusers", "accelerate", "ai_edge_litert", "vggt", "huggingface_hub")


def _run(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_importing_sceneforge_and_building_the_cli_loads_no_optional_stack():
    _run(
        "import sys\n"
        "import sceneforge.reconstruct, sceneforge.reconstruct.camera, sceneforge.reconstruct.depth\n"
        "import sceneforge.reconstruct.objects, sceneforge.render, sceneforge.engine\n"
        "from sceneforge.engine.cli import build_parser\n"
        "from sceneforge.engine.registry import STAGES, REFINERS, backend_statuses\n"
        "build_parser(); backend_statuses()\n"
        "for registry in (*STAGES, REFINERS):\n"
        "    for name in registry.names(): registry.config_type(name)\n"
        f"heavy = set({OPTIONAL!r}) & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )


def test_the_cli_works_with_every_optional_stack_missing():
    _run(
        "import sys\n"
        f"for name in {OPTIONAL!r}: sys.modules[name] = None  # import now raises ImportError\n"
        "from sceneforge.engine.cli import main\n"
        "assert main(['models', '--json']) == 0\n"
    )

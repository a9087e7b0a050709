"""Every script in ``examples/`` runs to completion: offline, on the tiny model or the real one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_script_runs_offline(script: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    model = os.environ.get("RAGKIT_TEST_MODEL_DIR") or str(tiny_model_dir)
    env = {
        **os.environ,
        "RAGKIT_MODEL": model,
        "RAGKIT_OFFLINE": "1",
        "RAGKIT_CACHE_DIR": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # examples must not depend on the working directory
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.strip(), "an example prints what it found"

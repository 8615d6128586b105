import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

needs_wat2wasm = pytest.mark.skipif(shutil.which("wat2wasm") is None, reason="wat2wasm (wabt) not installed")

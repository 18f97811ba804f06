import subprocess
import sys


def test_importing_models_loads_no_heavy_library() -> None:
    code = (
        "import models, sys; "
        "print(sorted(m for m in ('torch', 'ctranslate2', 'sentence_transformers', 'faster_whisper',"
        " 'transformers', 'librosa', 'av') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""The static surface: SDK-style code type-checks against rawgpt, and mistakes do not.

One ``mypy --strict`` run checks four files: ``everyday.py`` (code written for the
official SDK) and ``extras.py`` (rawgpt's additions) must draw no error; every line
of ``mistakes.py`` marked ``# E: code`` must draw exactly that error code and no
unmarked line any; and ``everyday.py`` with its imports swapped to ``openai`` must
pass against the SDK itself, which keeps it honest SDK-style code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def _marked(path: Path) -> set[tuple[int, str]]:
    marks = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if "# E: " in line:
            marks.add((number, line.rsplit("# E: ", 1)[1].strip()))
    return marks


def _mypy(tmp_path: Path) -> dict[str, set[tuple[int, str]]]:
    sdk = tmp_path / "everyday_sdk.py"
    text = (HERE / "everyday.py").read_text(encoding="utf-8")
    text = text.replace("import rawgpt as openai\n", "import openai\n")
    sdk.write_text(text.replace("from rawgpt.types.chat import", "from openai.types.chat import"))
    files = [HERE / "everyday.py", HERE / "extras.py", HERE / "mistakes.py", sdk]
    flags = ["--strict", "--no-incremental", "--no-error-summary", "--show-absolute-path"]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", *flags, *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 2: mypy itself failed
    found: dict[str, set[tuple[int, str]]] = {Path(f).name: set() for f in files}
    for line in done.stdout.splitlines():
        if match := ERROR.match(line):
            found[Path(match["file"]).name].add((int(match["line"]), match["code"]))
    return found


def test_sdk_style_code_passes_and_mistakes_are_flagged(tmp_path: Path) -> None:
    found = _mypy(tmp_path)
    assert found["everyday.py"] == set()
    assert found["extras.py"] == set()
    assert found["everyday_sdk.py"] == set()  # the same code against the SDK's own types
    marks = _marked(HERE / "mistakes.py")
    assert len(marks) >= 15
    assert found["mistakes.py"] == marks


def test_the_marks_are_read() -> None:
    marks = _marked(HERE / "mistakes.py")
    assert (13, "attr-defined") in marks  # message.contnt
    assert all(code for _, code in marks)

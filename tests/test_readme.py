"""The README is the front door, so it must stay short and true: every command in it runs, every file it
names exists, and ``make run`` prints the transcripts it shows.

The jobs example's ``curl`` lines are run by ``tests/test_readme_jobs.py`` and the fault table's rows by
``tests/test_fault_matrix.py``; the commands here are run against the test stack with its settings.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.blob_io import word_error_rate

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
#: What the README may name without it being a file here: URLs' paths, blob names, placeholders.
_NOT_FILES = re.compile(r"[<>*$]|^/|^https?:|^jobs/|^audio-in/|^transcripts/")
#: Where ``make serve`` serves the app, as the README's curl line calls it.
LOCAL_APP = "127.0.0.1:7071"
_TOP_LEVEL = (
    "shared/",
    "docs/",
    "tests/",
    "bench/",
    "infra/",
    "local_stack/",
    "speech_emulator/",
    "samples/",
    "scripts/",
    "tools/",
)


def bash_lines() -> list[str]:
    """Every command line of the README's ``bash`` blocks (comments and blank lines left out)."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.DOTALL):
        lines += [
            line.split("  #")[0].strip()
            for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    return lines


def test_the_readme_is_at_most_300_lines():
    assert len(README.splitlines()) <= 300


def test_every_file_the_readme_names_exists():
    named = set(re.findall(r"`([^`\s]+)`", README)) | set(re.findall(r"\]\(([^)#\s]+)", README))
    paths = {
        n.rstrip(",.") for n in named if n.startswith(_TOP_LEVEL) or re.fullmatch(r"\w[\w.-]*\.(py|md|json|yaml)", n)
    }
    missing = sorted(p for p in paths if not _NOT_FILES.search(p) and not (REPO / p).exists())
    assert not missing, missing


def test_the_readmes_map_names_every_part_of_shared():
    """Each module and package at the top of ``shared/`` is in the README's table of where things are."""
    table = README.split("| file | what it does |")[1].split("\n\n")[0]
    parts = {
        f"shared/{p.name}/" if p.is_dir() else f"shared/{p.name}"
        for p in (REPO / "shared").iterdir()
        if p.name not in ("__init__.py", "__pycache__")
    }
    named = set(re.findall(r"`(shared/[\w./]+)`", table))
    assert parts == named


def test_every_command_in_the_readme_is_one_the_tests_run():
    jobs_block = README.split("<!-- jobs-api-example -->")[1].split("<!-- /jobs-api-example -->")[0]
    for line in bash_lines():
        if line in ("make run", "make test", "make serve") or line in jobs_block:
            continue  # CI runs make test; test_make_run_prints_the_transcripts; test_readme_jobs runs the block
        if line.startswith("curl ") and LOCAL_APP in line:
            continue  # the line against make serve: test_the_readmes_curl_against_make_serve_prints_the_transcript
        assert line.startswith("python -m shared."), f"a README command no test runs: {line}"


@pytest.mark.parametrize("line", [line for line in bash_lines() if line.startswith("python -m shared.")])
def test_each_python_command_in_the_readme_runs(stack, line):
    run = subprocess.run(
        [sys.executable, *shlex.split(line)[1:]],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip(), line


def test_make_run_prints_the_transcripts_the_readme_shows(stack, service, capsys):
    from local_stack.__main__ import audio_files, transcribe_folder
    from local_stack.functions_host import FunctionsHost
    from local_stack.processes import free_port

    suffix = uuid.uuid4().hex[:8]
    containers = {"INPUT_CONTAINER": f"run-in-{suffix}", "OUTPUT_CONTAINER": f"run-out-{suffix}"}
    for name in containers.values():
        service.create_container(name)  # a fresh stack's containers, as make run has
    with FunctionsHost(stack, http_port=free_port(), settings=containers, timers=False) as host:
        assert transcribe_folder(stack, host, audio_files(REPO / "samples")) == 0
        invoked = [line for line in host.worker_logs if '"outcome":"transcribed"' in line]
    assert len(invoked) == 2, invoked  # written by the runtime's invocations of the blob trigger
    printed = capsys.readouterr().out
    shown = README.split("=== transcripts/help-desk-call.wav.txt\n")[1].split("```")[0].strip().splitlines()
    got = printed.split("help-desk-call.wav.txt\n")[1].splitlines()[: len(shown)]
    for expected, line in zip(shown, got, strict=True):
        assert line.split(":", 3)[:3] == expected.split(":", 3)[:3]  # the same time and speaker
        assert word_error_rate(line.split(": ", 1)[1], expected.split(": ", 1)[1]) <= 0.25


def test_the_readmes_curl_against_make_serve_prints_the_transcript(functions_host):
    (line,) = [line for line in bash_lines() if line.startswith("curl ") and LOCAL_APP in line]
    port = functions_host.http_port
    run = subprocess.run(
        shlex.split(line.replace(LOCAL_APP, f"127.0.0.1:{port}")), cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    shown = README.split(line + "\n```\n\n```\n")[1].split("\n```")[0]
    assert run.stdout.split(": ", 1)[0] == shown.split(": ", 1)[0], run.stdout  # the same time and speaker
    assert word_error_rate(run.stdout.split(": ", 1)[1], shown.split(": ", 1)[1]) <= 0.25, run.stdout

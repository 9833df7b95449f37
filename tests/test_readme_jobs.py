"""The README's jobs example, run line by line, so the documentation cannot drift from the code.

The ``curl`` lines between the ``jobs-api-example`` markers are parsed with ``shlex`` and performed in
order: ``$APP`` requests go over HTTP to the app inside the Functions runtime (the host stand-in,
contract-checked), the upload goes to Azurite as a plain HTTPS PUT, and Event Grid's event for it starts the
blob trigger, as in Azure. ``$(jq -r .path job.json)`` is evaluated on the file an earlier line wrote; the
poll line is repeated until the job has finished, as its comment says.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from pathlib import Path

import srt

from tests.app_functions import over_http
from tests.test_jobs_api import http

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"<!-- jobs-api-example -->\s*```bash\n(.*?)```\s*<!-- /jobs-api-example -->", re.DOTALL)
JQ = re.compile(r"\$\(jq -r \.([\w.]+) (\S+)\)")


def example_lines() -> list[str]:
    match = BLOCK.search(README.read_text(encoding="utf-8"))
    assert match, "README.md lost its jobs-api-example block"
    return [line for line in match.group(1).splitlines() if line.strip() and not line.startswith("#")]


def parse_curl(line: str, files: dict[str, object]) -> dict:
    """One curl line → method, url, headers, body, output file (the options the example uses)."""

    def jq(match: re.Match) -> str:
        value = files[match.group(2)]
        for key in match.group(1).split("."):
            value = value[key]
        return str(value)

    line = JQ.sub(jq, line).replace("$APP", "/api").replace("$KEY", "test-key")
    words = shlex.split(line)
    assert words[0] == "curl", line
    request = {"method": "GET", "headers": {}, "body": b"", "out": None, "url": None}
    i = 1
    while i < len(words):
        word = words[i]
        if word == "-sS":
            pass
        elif word == "-X":
            i += 1
            request["method"] = words[i]
        elif word == "-H":
            i += 1
            name, value = words[i].split(":", 1)
            request["headers"][name.strip().lower()] = value.strip()
        elif word == "-d":
            i += 1
            request["body"] = words[i].encode()
        elif word == "--data-binary":
            i += 1
            request["body"] = files[words[i].removeprefix("@")]
        elif word == ">":
            i += 1
            request["out"] = words[i]
        elif request["url"] is None:
            request["url"] = word
        else:
            raise AssertionError(f"the test does not understand {word!r} in: {line}")
        i += 1
    return request


def test_the_readme_jobs_example_runs_in_order_against_the_functions(functions_host, three_sentences_wav):
    lines = example_lines()
    assert lines[0].startswith("APP="), lines
    assert len(lines) == 5, lines
    files: dict[str, object] = {"meeting.m4a": three_sentences_wav.read_bytes()}  # any format will do
    statuses = []
    for line in lines[1:]:
        request = parse_curl(line, files)
        url = request["url"]
        if url.startswith("/api/"):
            response = over_http(functions_host, request["method"], url, request["body"], request["headers"])
            deadline = time.monotonic() + 120
            while request["out"] is None and json.loads(response.get_body())["status"] in ("queued", "running"):
                assert time.monotonic() < deadline, response.get_body()  # "poll until" it has finished
                time.sleep(0.5)
                response = over_http(functions_host, request["method"], url, request["body"], request["headers"])
            assert response.status_code in (200, 201), (line, response.get_body())
            body = response.get_body()
            if request["out"] == "job.json":
                files["job.json"] = json.loads(body)
            elif request["out"]:
                files[request["out"]] = body.decode()
            else:
                statuses.append(json.loads(body)["status"])
        else:  # the upload URL: storage itself, no function involved
            assert url.startswith("https://")
            assert "sig=" in url
            assert http(request["method"], url, request["body"], request["headers"]) == 201
    assert statuses == ["succeeded"]
    cues = list(srt.parse(files["meeting.srt"]))
    assert cues
    assert all(c.content.startswith("[Guest-") for c in cues)

"""The benchmarks of ``bench/`` run, briefly, so they cannot rot between full runs (``make bench``).

Figures on a shared CI machine are noise at this size: the bounds only say the numbers are sane (the
invocations succeeded, RSS is a plausible process size, medians are positive and below seconds).
The one exact check is that importing the function app loads none of the invocation path's heavy
modules. The real figures and what they mean are in docs/performance.md.
"""

from __future__ import annotations

import json

import pytest

from bench import bare_sdk, burst, cold_import, concurrency, memory, overhead, peak_rss, runtime
from bench.harness import replot
from bench.memory_variants import JEMALLOC

MIB = 2**20


def quiet(*_args) -> None:
    pass


def test_memory_benchmark_runs_every_variant(stack, tmp_path):
    report = memory.run(stack, n=3, out=tmp_path, echo=quiet)
    assert set(report["variants"]) == {"a", "b", "c", "e", "f"}
    assert all(s["words"] > 0 for s in report["variants"]["e"]["samples"])  # the options reached the session
    assert {s["engine"] for s in report["variants"]["f"]["samples"]} == {"fast"}
    assert not any(s["words"] for s in report["variants"]["a"]["samples"])
    for variant, result in report["variants"].items():
        assert result["failed"] == 0, (variant, [s["status"] for s in result["samples"]])
        assert len(result["samples"]) == 3
        assert all(20 * MIB < s["rss"] < 2048 * MIB for s in result["samples"]), variant
        assert abs(result["slope_kib_per_invocation"]) < 10 * 1024, variant
    assert "| (a) as shipped |" in memory.table(report)
    # the saved report is the one printed, and --plot redraws its plot from the JSON alone
    assert json.loads((tmp_path / "memory.json").read_text())["variants"].keys() == report["variants"].keys()
    (tmp_path / "memory.png").unlink()
    replot(tmp_path / "memory.json", memory.table, memory.plot)
    assert (tmp_path / "memory.png").read_bytes().startswith(b"\x89PNG")


def test_memory_benchmark_runs_the_parts_of_the_options_variant_and_another_allocator(stack, tmp_path):
    # The parts with a path of their own (p, l and w are pieces of e); each variant and allocator is a process.
    parts = memory.run(stack, n=1, variants="is", out=None, echo=quiet)
    assert set(parts["variants"]) == set("is")
    assert all(s["languages"] > 0 for s in parts["variants"]["i"]["samples"])
    allocator = "jemalloc" if JEMALLOC.exists() else "glibc"
    other = memory.run(stack, n=1, variants="a", allocators=(allocator,), trace=True, out=tmp_path, echo=quiet)
    assert set(other["variants"]) == {f"a@{allocator}"}
    for name, result in [*parts["variants"].items(), *other["variants"].items()]:
        assert result["failed"] == 0, (name, [s["status"] for s in result["samples"]])
        assert result["threads_end"] >= 1, name
        assert result["fds_end"] >= 3, name
        assert "growth_mib" in result, name
    assert other["variants"][f"a@{allocator}"]["trace"]["to_invocation"] == 1
    assert other["variants"][f"a@{allocator}"]["allocator_seen"] == allocator
    assert "| (s) separate channels" in memory.table(parts)
    assert (tmp_path / "memory.png").read_bytes().startswith(b"\x89PNG")


def test_the_bare_sdk_loop_runs_outside_the_project(stack, tmp_path):
    report = bare_sdk.run(stack, n=1, cases=("words+phrases",), allocators=("shipped",), out=tmp_path, echo=quiet)
    (result,) = report["variants"].values()
    assert result["failed"] == 0
    assert all(s["phrases"] > 0 for s in result["samples"])
    assert (tmp_path / "bare_sdk.png").read_bytes().startswith(b"\x89PNG")


def test_overhead_benchmark_measures_every_piece(stack):
    report = overhead.run(stack, runs=3, invocations=1, out=None, echo=quiet)
    assert set(report["pieces"]) == set(overhead.PIECES)
    for piece, figures in report["pieces"].items():
        assert 0 < figures["median_ms"] < 5000, piece
    assert report["shipped_total_median_ms"] > 0


def test_peak_rss_runs_one_recording_through_each_engine(stack, tmp_path):
    clip = peak_rss.made_file("wav:0.1", tmp_path)
    report = peak_rss.run(stack, [clip], engines=("realtime", "fast"), out=None, echo=quiet)
    assert [(row["engine"], row["status"]) for row in report["rows"]] == [
        ("realtime", "transcribed"),
        ("fast", "transcribed"),
    ]
    assert all(row["ratio_to_first"] == 1.0 for row in report["rows"])  # each engine its own reference


def test_peak_rss_benchmark_measures_short_recordings(stack, tmp_path):
    clips = [peak_rss.made_file(spec, tmp_path) for spec in ("wav:0.1", "m4a:0.1")]
    report = peak_rss.run(stack, clips, out=None, echo=quiet)
    wav, m4a = report["rows"]
    for row, found in ((wav, "wav/pcm_s16le"), (m4a, "m4a/aac")):
        assert row["status"] == "transcribed", row
        assert row["audio_seconds"] == pytest.approx(6, abs=0.1), row
        assert 20 < row["rss_before_mib"] <= row["peak_rss_mib"] < 2048
        assert row["requests"] >= 1
        assert 1 <= row["fetched_ratio"] < 2
        decode = row["decode"]
        assert decode["found"] == found
        assert decode["audio_seconds"] == pytest.approx(6, abs=0.1)
        assert decode["x_real_time"] > 1
        assert 1 <= decode["fetched_ratio"] < 2
    assert wav["ratio_to_first"] == 1


def test_the_function_app_imports_none_of_the_heavy_invocation_modules():
    report = cold_import.measure(runs=1)
    assert report["lazy_modules_loaded_by_import"] == []
    # the collector is off while the import runs (docs/performance.md): it must be on again afterwards
    assert report["gc_after_import"]["enabled"] is True
    assert report["gc_after_import"]["frozen_objects"] > 10_000
    for condition in cold_import.CONDITIONS:
        assert 0 < report["conditions"][condition]["median_ms"] < 10_000
        assert 0 < report["conditions"][condition]["wall_median_ms"] < 10_000


def test_concurrency_benchmark_measures_sessions_at_once(stack):
    report = concurrency.run(stack, (1, 2), seconds=0, out=None, echo=quiet)
    single, double = report["rows"]
    assert single["statuses"] == ["transcribed"]
    assert double["statuses"] == ["transcribed"] * 2
    assert 20 < single["rss_before_mib"] <= single["peak_rss_mib"] < 2048
    assert double["per_extra_session_mib"] is not None
    assert "| 2 |" in concurrency.table(report)


def test_burst_benchmark_measures_a_small_burst_against_a_quota(stack):
    report = burst.run(stack, (1,), recordings=3, parallel=2, out=None, echo=quiet)
    (row,) = report["rows"]
    assert row["states"]["transcribed"] == 3
    assert row["poisoned"] == 0
    assert row["peak_sessions"] <= 1
    assert row["sessions_ok"] >= 3
    assert row["ratio"] > 0
    assert "| 1 | 3 |" in burst.table(report)


def test_runtime_benchmark_measures_cold_start_and_memory_inside_the_runtime(stack, tmp_path):
    report = runtime.run(stack, starts=1, n=3, out=tmp_path, echo=quiet)
    (start,) = report["starts"]
    assert set(start) == {
        "worker_process",
        "init",
        "metadata_and_load",
        "first_http_health",
        "first_http_transcription",
        "first_blob",
    }
    assert all(0 < seconds < 60 for seconds in start.values()), start
    for where in ("runtime", "direct"):
        measured = report[where]
        assert measured["failed"] == 0, where
        assert len(measured["samples"]) == 3, where
        assert all(20 * MIB < s["rss"] < 2048 * MIB for s in measured["samples"]), where
    assert "| init + first HTTP (health) |" in runtime.table(report)
    (tmp_path / "runtime.png").unlink()
    replot(tmp_path / "runtime.json", runtime.table, runtime.plot)
    assert (tmp_path / "runtime.png").read_bytes().startswith(b"\x89PNG")

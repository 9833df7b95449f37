"""A capacity model of the product under a burst, by discrete-event simulation (issue 18, item 6).

    python -m bench.capacity [--quick]

What it answers: how long a burst of N recordings takes at a Speech quota Q, whether every recording
gets its transcript, and what a wrongly sized deployment costs. It runs the product's documented
delivery and retry semantics (Event Grid, the host's queue and redeliveries, Flex scale-out, the
Speech quota, the sweep), importing the retry policy from ``shared/platform/retry_policy.py``, the sweep's
run budget from ``shared/recordings/sweep.py``, the claim's lease from ``shared/recordings/claims.py``, the limits from
``host.json`` and the ``Settings`` defaults, and the sizing the infra deploys (``sizing.py``, which
tests/test_infra.py ties to infra/main.bicep), so it cannot drift from the code. Its rules follow the
code's (``assumptions.MODEL_VERSION`` says which revision). docs/capacity.md has the model, its
assumptions and what the figures mean.

Modules, one job each: ``assumptions`` (every constant and its source), ``sizing`` (the fleet for a
quota), ``workload`` (the burst), ``engine`` (event loop, recordings, quota), ``handler`` (one
attempt), ``host`` (Event Grid, queue, instances), ``sweep`` (the timer), ``run`` (one scenario),
``scenarios`` (the table's rows), ``report`` (table, plot, JSON).
"""

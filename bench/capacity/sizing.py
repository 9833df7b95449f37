"""How big the blob trigger's fleet may be for a Speech quota: one function, shared with the infra.

Every blob invocation that runs holds (or waits for) one Speech session, and the sweep holds up to
``SWEEP_CONCURRENCY`` more. A fleet that can run more invocations than the quota leaves has
invocations that spend their retry budget refused, then their deliveries, and hands the rest to the
serial sweep (docs/capacity.md shows what that costs). So a full scale-out must fit in the quota.
"""

from __future__ import annotations

from typing import NamedTuple

from bench.capacity.assumptions import MAX_INSTANCES, MAX_PER_INSTANCE, MIN_INSTANCES


class Deployment(NamedTuple):
    """``maximumInstanceCount`` of the blob scale group, and invocations per instance."""

    instances: int
    per_instance: int

    @property
    def concurrency(self) -> int:
        return self.instances * self.per_instance


def deployment_for_quota(
    quota: int, sweep_concurrency: int = 1, max_per_instance: int = MAX_PER_INSTANCE
) -> Deployment:
    """The largest fleet whose full scale-out, plus the sweep, stays within ``quota`` sessions.

    ``per_instance = min(max_per_instance, quota - sweep_concurrency)`` (at least 1) and
    ``instances = (quota - sweep_concurrency) // per_instance``, within Flex's 1..1000. For
    ``quota >= sweep_concurrency + max_per_instance`` this is ``c = min(4, quota)``,
    ``max(1, min(1000, (quota - sweep) // c))``. Below that, ``c = min(4, quota)`` would let one
    instance plus the sweep exceed the quota (quota 3: 3 + 1 sessions), so ``c`` leaves the sweep its
    share. When ``quota <= sweep_concurrency`` nothing fits: one instance running one invocation is the
    least Flex allows, and it competes with the sweep (a refused start waits, it does not fail).
    """
    if quota < 1 or sweep_concurrency < 0:
        raise ValueError(f"quota must be >= 1 and sweep_concurrency >= 0 (got {quota}, {sweep_concurrency})")
    room = quota - sweep_concurrency
    per_instance = max(1, min(max_per_instance, room))
    instances = max(MIN_INSTANCES, min(MAX_INSTANCES, room // per_instance))
    return Deployment(instances, per_instance)


def sweep_concurrency_for_quota(quota: int) -> int:
    """The sweep's share of the quota: a quarter of it, at least 1 and at most 4 (one instance's worth).

    Enough that recordings the host handed over, or whose events its queue dropped after 7 days, are
    caught up (with a tenth, a small quota's sweep ran one session while the fleet idled: docs/capacity.md),
    small enough that the blob fleet keeps most of the quota.
    """
    return min(4, max(1, quota // 4))

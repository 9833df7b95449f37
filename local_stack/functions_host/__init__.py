"""A stand-in for the Functions host that runs the app inside Microsoft's Functions runtime
(``azure-functions-runtime``), in a worker process of its own, as the host runs its Python worker.

It covers what the runtime does and the host's shapes around it: indexing and its validation, the
``FunctionRpc`` messages (compiled from ``protos/``), HTTP conversion, the SDK-type blob binding from
``ModelBindingData``, the timer payload, context injection; and the host's delivery rules (Event Grid blob
events, ``maxDegreeOfParallelism``, redelivery, ``poisonBlobThreshold``, the timer's schedule). Only the real
host does the rest: gRPC framing, keys, routing details, ``%SETTING%`` binding expressions beyond plain
substitution, log forwarding to Application Insights, Event Grid itself (``README.md`` here).
"""

from local_stack.functions_host.host import FunctionsHost

__all__ = ["FunctionsHost"]

"""What every invocation runs on: its own storage clients and credentials (a token per invocation, none
kept), ranged blob reads pinned to an ETag, a bound on every wait, the retry policy the host and the sweep
share, a reachability probe, and the allocator settings that return freed memory to the OS."""

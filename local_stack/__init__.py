"""The local stand-ins the tests, ``make run`` and the benchmarks run against (dev/test only).

- ``identity``: a managed-identity token endpoint (App Service protocol) so azure-identity's real
  ``ManagedIdentityCredential`` fetches real tokens; the speech emulator verifies them.
- ``azurite``: the Azurite storage emulator from npm, pinned in ``tools/azurite``.
- ``stack``: starts all of it (with the speech emulator) on free loopback ports and ends every
  process on exit.

Nothing here is deployed: ``.funcignore`` leaves this folder out of the function app package.
"""

"""The FunctionRpc messages, compiled from ``protos/`` by protoc (grpcio-tools) the first time they are needed.

The generated module is never committed (protobuf's gencode carries its own version check) and lives in
``_generated/``, apart from the app's ``shared/`` package. ``protos`` is what the runtime is handed at init:
one module exposing every message. Frames on the worker's socket are a 4-byte big-endian length, then one
``StreamingMessage`` (the real host speaks gRPC; what that leaves out: ``README.md`` here).
"""

from __future__ import annotations

import importlib
import os
import socket
import struct
import tempfile
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
PROTO = HERE / "protos" / "function_rpc.proto"
GENERATED = HERE / "_generated"
MODULE = "local_stack.functions_host._generated.function_rpc_pb2"
_LENGTH = struct.Struct(">I")


def _compile() -> None:
    """Run protoc when the generated module is missing or older than its proto (atomic: two processes may race)."""
    target = GENERATED / "function_rpc_pb2.py"
    if target.exists() and target.stat().st_mtime >= PROTO.stat().st_mtime:
        return
    import importlib.resources

    from grpc_tools import protoc

    GENERATED.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=GENERATED) as out:
        include = importlib.resources.files("grpc_tools") / "_proto"
        args = ["protoc", f"-I{PROTO.parent}", f"-I{include}", f"--python_out={out}", str(PROTO)]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc could not compile {PROTO}")
        os.replace(Path(out) / "function_rpc_pb2.py", target)


def load() -> ModuleType:
    """The generated module: every FunctionRpc message, as the runtime's ``protos``."""
    _compile()
    return importlib.import_module(MODULE)


protos = load()


HEADER_SIZE = _LENGTH.size


def frame(message: object) -> bytes:
    """One frame: the message's length, then the message."""
    data = message.SerializeToString()
    return _LENGTH.pack(len(data)) + data


def body_size(header: bytes) -> int:
    return _LENGTH.unpack(header)[0]


def receive(sock: socket.socket) -> object | None:
    """The next ``StreamingMessage`` on a blocking ``sock``; ``None`` once the other end has closed."""
    header = _read_exactly(sock, HEADER_SIZE)
    body = None if header is None else _read_exactly(sock, body_size(header))
    return None if body is None else protos.StreamingMessage.FromString(body)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        try:
            chunk = sock.recv(min(left, 1 << 20))
        except OSError:  # reset or closed under us: the same as the end of the stream
            return None
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)

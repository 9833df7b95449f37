"""Doc and comment lines against code lines in a package (the measure of issue 23's aim: at most 0.27).

    python tools/comment_ratio.py shared [--top 15]

A docstring line is a line of a string literal that is a module's, class's or function's first statement; a
comment line is a line holding a ``#`` comment (one beside code counts once as a comment, not as code);
code lines are the other non-blank lines.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path


def counts(path: Path) -> tuple[int, int]:
    """(doc + comment lines, code lines) of one file."""
    source = path.read_text(encoding="utf-8")
    doc_lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                doc_lines.update(range(first.lineno, first.end_lineno + 1))
    comment_lines = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                     if tok.type == tokenize.COMMENT}
    text = source.splitlines()
    blank = {i + 1 for i, line in enumerate(text) if not line.strip()}
    docs = (doc_lines | comment_lines) - blank
    code = set(range(1, len(text) + 1)) - blank - docs
    return len(docs), len(code)


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "shared")
    top = int(argv[argv.index("--top") + 1]) if "--top" in argv else 0
    rows = [(path, *counts(path)) for path in sorted(root.rglob("*.py"))]
    docs, code = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{root}: {docs} doc+comment lines, {code} code lines, ratio {docs / code:.3f}")
    for path, d, c in sorted(rows, key=lambda r: -r[1])[:top]:
        print(f"  {d:4d} / {c:4d}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

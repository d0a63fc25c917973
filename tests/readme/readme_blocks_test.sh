#!/usr/bin/env bash
# Every code block of the README but the shell commands appears, line for line (indentation
# aside), in one of the given files: the ```cpp blocks in the files this package compiles, the
# Bazel ones in examples/user_workspace (which deft's suite builds and CI builds from outside).
# A README block that changes without its copy, or the other way round, fails here.
#
#   readme_blocks_test.sh README.md file...
set -euo pipefail
exec python3 - "$@" <<'PY'
import sys

readme, compiled = sys.argv[1], sys.argv[2:]

def lines(text):
    return [line.strip() for line in text.splitlines()]

blocks, block, inside = [], [], False
with open(readme) as f:
    for number, line in enumerate(f, 1):
        if not inside and line.strip().startswith("```"):
            inside, block, start = True, [], number
            language = line.strip()[3:]
        elif inside and line.strip() == "```":
            inside = False
            if language != "sh":
                blocks.append((start, lines("".join(block))))
        elif inside:
            block.append(line)

sources = {}
for path in compiled:
    with open(path) as f:
        sources[path] = lines(f.read())

def contains(haystack, needle):
    return any(haystack[i:i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))

failed = False
for start, block in blocks:
    where = [path for path, text in sources.items() if contains(text, block)]
    if where:
        print(f"ok: README.md:{start} is in {where[0]}")
    else:
        failed = True
        print(f"FAIL: README.md:{start}: this block is in none of the files:")
        print("\n".join("    " + line for line in block))
if not blocks:
    print("FAIL: no code block found in the README")
    failed = True
sys.exit(1 if failed else 0)
PY

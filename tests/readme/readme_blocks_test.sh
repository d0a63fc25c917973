#!/usr/bin/env bash
# Every ```cpp block of the README appears, line for line (indentation aside), in one of the
# files this package compiles: a README block that changes without its compiled copy, or the
# other way round, fails here.
#
#   readme_blocks_test.sh README.md compiled.cc...
set -euo pipefail
exec python3 - "$@" <<'PY'
import sys

readme, compiled = sys.argv[1], sys.argv[2:]

def lines(text):
    return [line.strip() for line in text.splitlines()]

blocks, block, inside = [], [], False
with open(readme) as f:
    for number, line in enumerate(f, 1):
        if not inside and line.strip() == "```cpp":
            inside, block, start = True, [], number
        elif inside and line.strip() == "```":
            inside = False
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
        print(f"ok: README.md:{start} is compiled as {where[0]}")
    else:
        failed = True
        print(f"FAIL: README.md:{start}: this block is in no compiled file:")
        print("\n".join("    " + line for line in block))
if not blocks:
    print("FAIL: no ```cpp block found in the README")
    failed = True
sys.exit(1 if failed else 0)
PY

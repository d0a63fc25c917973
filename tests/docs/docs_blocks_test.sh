#!/usr/bin/env bash
# Every ```cpp block of a guide appears, line for line (indentation aside), in one of the given
# files, which //tests/docs compiles: a block that changes without its copy fails here. (The
# ```python blocks are the Twisted and asyncio code the guide translates, not compiled.)
#
#   docs_blocks_test.sh GUIDE.md file...
set -euo pipefail
exec python3 - "$@" <<'PY'
import sys

guide, compiled = sys.argv[1], sys.argv[2:]
strip = lambda text: [line.strip() for line in text.splitlines()]
blocks, block, inside, language, start = [], [], False, "", 0
with open(guide) as f:
    for number, line in enumerate(f, 1):
        if not inside and line.strip().startswith("```"):
            inside, block, start, language = True, [], number, line.strip()[3:]
        elif inside and line.strip() == "```":
            inside = False
            if language == "cpp":
                blocks.append((start, strip("".join(block))))
        elif inside:
            block.append(line)
sources = {path: strip(open(path).read()) for path in compiled}
contains = lambda hay, needle: any(hay[i:i + len(needle)] == needle for i in range(len(hay) - len(needle) + 1))
failed = not blocks
for start, lines in blocks:
    where = [path for path, text in sources.items() if contains(text, lines)]
    print(f"{'ok' if where else 'FAIL'}: {guide}:{start}" + (f" is in {where[0]}" if where else " is in none of the files"))
    failed = failed or not where
sys.exit(1 if failed else 0)
PY

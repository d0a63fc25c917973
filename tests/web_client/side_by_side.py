#!/usr/bin/env python3
# Runs each command line of a table with curl and with getpage, against the same server, and
# compares what they did: exit code, stdout, and every file they wrote.
#
#   side_by_side.py GETPAGE BASE_URL WORK_DIR [PROXY [DATA_DIR]] < command_lines.txt
#
# A line is a command line as a shell reads it, with @B@ for the server's base URL, @P@ for its
# port, @X@ for an HTTP proxy's host:port and @D@ for a directory of files to upload. "<DATA rest" feeds DATA (with \n and \t escapes) to stdin. '#' starts a comment.
# A request the server echoes (/request) has its header fields compared as a set, since the two
# clients order them differently; Date headers are blanked.
import os, re, shlex, shutil, subprocess, sys
getpage, base, work = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
proxy = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1:9"
data_dir = sys.argv[5] if len(sys.argv) > 5 else "/nonexistent"
METHODS = (b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"HEAD")
def normal(out):
    out = re.sub(rb"Date: [^\r\n]*", b"Date: *", out)  # the two runs may straddle a second
    out = re.sub(rb"-{24}[0-9a-f]{16}", b"BOUNDARY", out)  # a multipart body's, random
    # Each echoed request's header lines (after its request line, up to a blank line) sorted.
    lines, result, i = out.split(b"\n"), [], 0
    while i < len(lines):
        result.append(lines[i])
        if lines[i].split(b" ")[0] in METHODS and b" /" in lines[i]:
            j = i + 1
            while j < len(lines) and lines[j] != b"":
                j += 1
            result.extend(sorted(lines[i + 1:j]))
            i = j
        else:
            i += 1
    return b"\n".join(result)
def run(program, words, stdin):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # No input: /dev/null, not this script's own stdin (curl -u USER would read a password there).
    stdin_arg = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    done = subprocess.run([program] + words, capture_output=True, cwd=work, timeout=20, **stdin_arg)
    files = {}
    for top, _, names in os.walk(work):
        for name in names:
            path = os.path.join(top, name)
            files[os.path.relpath(path, work)] = normal(open(path, "rb").read())
    return done.returncode, normal(done.stdout), dict(sorted(files.items()))
failed = 0
count = 0
for line in sys.stdin:
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    stdin = None
    if line.startswith("<"):
        data, line = line[1:].split(" ", 1)
        stdin = data.replace("\\n", "\n").replace("\\t", "\t").replace("\\s", " ")
        stdin = stdin.replace("@B@", base).encode()
    words = shlex.split(line.replace("@B@", base).replace("@P@", base.rsplit(":", 1)[1]).replace("@X@", proxy).replace("@D@", data_dir))
    count += 1
    expected = run("curl", words, stdin)
    got = run(getpage, words, stdin)
    if expected != got:
        failed += 1
        print(f"FAIL: side by side: {line}\n  words:   {words}\n  curl:    {expected}\n  getpage: {got}")
print(f"side by side: {count - failed} of {count} command lines as curl's")
sys.exit(1 if failed else 0)

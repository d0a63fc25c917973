#!/usr/bin/env python3
"""The echo and chat examples under a flood from clients that never read: memory stays bounded.

    flood_test.py path/to/echo_server path/to/chat_server

Each server runs as the example does, on a free loopback port. Its resident memory is read from
/proc/PID/status after the flood; without backpressure (echo) or a send-queue limit (chat) it
holds everything the flood sent.
"""
import os
import re
import socket
import subprocess
import sys
import time

FLOOD = 64 << 20          # bytes each flood tries to send
GROWTH = 40 << 20         # the most a server's resident memory may grow (unbounded: about FLOOD)


def start(binary, *flags):
    # Under ASan freed memory stays resident in quarantine (256 MiB by default): keep it small,
    # so what is measured is what the server holds.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"
    server = subprocess.Popen([binary, "--port=0", *flags], stdout=subprocess.PIPE, text=True,
                              env=env)
    line = server.stdout.readline()
    port = int(re.search(r":(\d+)", line).group(1))
    return server, port


def non_reader(port):
    """A connection whose receive buffer stays small (64 KiB: no autotuning to tens of MiB),
    so what it does not read piles up in the server, not in this side's kernel."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.connect(("127.0.0.1", port))
    return sock


def resident(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def flood(sock, line, budget_seconds=5.0):
    """Sends `line` over and over until FLOOD bytes went or the peer stopped taking them."""
    sock.settimeout(0.5)
    sent = 0
    deadline = time.monotonic() + budget_seconds
    chunk = line * (65536 // len(line))
    while sent < FLOOD and time.monotonic() < deadline:
        try:
            sent += sock.send(chunk)
        except socket.timeout:
            break  # the server stopped reading: backpressure reached us
        except (BrokenPipeError, ConnectionResetError):
            break
    return sent


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)
    print("ok:", message)


def echo_test(binary):
    server, port = start(binary)
    try:
        before = resident(server.pid)
        hog = non_reader(port)
        sent = flood(hog, b"x" * 1024)
        grown = resident(server.pid) - before
        check(grown < GROWTH, f"echo server grew {grown >> 20} MiB after a non-reader sent {sent >> 20} MiB")
        # Another client is still served.
        other = socket.create_connection(("127.0.0.1", port), timeout=2)
        other.sendall(b"still here")
        check(other.recv(100) == b"still here", "a second client is echoed meanwhile")
        other.close()
        hog.close()
    finally:
        server.terminate()
        server.wait(5)


def read_until(sock, pattern, seconds=5.0):
    sock.settimeout(0.2)
    got = b""
    deadline = time.monotonic() + seconds
    while pattern not in got and time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
            if not data:
                break
            got += data
        except socket.timeout:
            pass
    return got


def drain(sock, needle):
    """Reads everything `sock` has now; whether `needle` was in it."""
    sock.settimeout(0.005)
    tail = b""
    found = False
    while True:
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            return found
        if not data:
            return found
        found = found or needle in tail[-len(needle):] + data
        tail = data


def chat_test(binary):
    server, port = start(binary, "--sendq=4194304")
    try:
        before = resident(server.pid)
        idle = non_reader(port)                                  # guest1: never reads
        watcher = socket.create_connection(("127.0.0.1", port))  # guest2: reads everything
        talker = socket.create_connection(("127.0.0.1", port))   # guest3: floods the room
        read_until(watcher, b"guest3 joined")
        # The watcher must keep reading while the talker floods: a thread-free way is to flood
        # in slices and drain the watcher between them.
        notice = b"guest1 left (SendQ exceeded)"
        told = False
        sent = 0
        talker.settimeout(0.5)
        deadline = time.monotonic() + 10
        while sent < FLOOD and time.monotonic() < deadline:
            try:
                sent += talker.send(b"hello everyone, how are you?\r\n" * 2048)
            except socket.timeout:
                pass
            told = drain(watcher, notice)
            if told:
                break
        told = told or notice in read_until(watcher, notice, 2.0)
        check(told, f"the member who never reads is dropped, and the room told ({sent >> 20} MiB sent)")
        grown = resident(server.pid) - before
        check(grown < GROWTH, f"chat server grew {grown >> 20} MiB after {sent >> 20} MiB of chat")
        for s in (idle, watcher, talker):
            s.close()
    finally:
        server.terminate()
        server.wait(5)


echo_test(sys.argv[1])
chat_test(sys.argv[2])

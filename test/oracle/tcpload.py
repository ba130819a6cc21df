#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Traffic for the oracle tests (test/050-oracle.bats), whose numbers are
compared with the kernel's own accounting of the same sockets.

  tcpload.py serve PORT                 accept on 0.0.0.0 and [::]: echo
                                        what comes until "\n.\n", close;
                                        until killed
  tcpload.py sink PORT                  the same, reading and dropping
  tcpload.py short HOST4 HOST6 PORT N CLOSED
                                        N connections per family (request,
                                        answer, close), then N/10 connects
                                        per family to the closed port CLOSED
  tcpload.py abort PORT                 accept on 0.0.0.0 and [::], wait
                                        for data, close without reading it
                                        (the kernel then sends a RST); until
                                        killed
  tcpload.py fail HOST4 HOST6 PORT N CLOSED BLACKHOLE M
                                        N connections per family that the
                                        abort server resets, N connects per
                                        family refused at CLOSED, and M
                                        connects at once to BLACKHOLE (SYNs
                                        dropped) that time out
  tcpload.py rr HOST PORT N GAP_MS OUT  one connection, N request/answer
                                        exchanges GAP_MS apart; writes
                                        "lport" to OUT and keeps the
                                        connection open until OUT.done exists
"""
import os
import selectors
import socket
import sys
import time


def listeners(port):
    """A selector with listeners on 0.0.0.0 and [::] at port."""
    sel = selectors.DefaultSelector()
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
        s.listen(512)
        sel.register(s, selectors.EVENT_READ, "listen")
    return sel


def accept_loop(port, on_readable):
    """Accept on port; on_readable(conn) returns True to keep the conn."""
    sel = listeners(port)
    while True:
        for key, _ in sel.select():
            if key.data == "listen":
                c, _ = key.fileobj.accept()
                sel.register(c, selectors.EVENT_READ, "conn")
                continue
            if not on_readable(key.fileobj):
                sel.unregister(key.fileobj)
                key.fileobj.close()


def serve(port, echo=True):
    def readable(c):
        try:
            data = c.recv(1 << 16)
            if data and echo:
                c.sendall(data)
            return bool(data) and not data.endswith(b"\n.\n")
        except OSError:
            return False    # a reset: the peer is gone
    accept_loop(port, readable)


def abort(port):
    # Closed with its data unread: the kernel sends a RST (TCPAbortOnClose).
    accept_loop(port, lambda c: False)


def reset_by_peer(fam, host, port):
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.connect((host, port))
        s.sendall(b"unread\n")
        try:
            s.recv(4096)
        except ConnectionResetError:
            return 1
    return 0


def connect_fails(fam, host, port):
    """The errno of a connect that fails, None if it succeeds."""
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        try:
            s.connect((host, port))
        except OSError as e:
            return e.errno
    return None


def fail(host4, host6, port, n, closed, blackhole, m):
    import errno
    import threading
    reset = refused = 0
    for fam, host in ((socket.AF_INET, host4), (socket.AF_INET6, host6)):
        for _ in range(n):
            reset += reset_by_peer(fam, host, port)
            refused += connect_fails(fam, host, closed) == errno.ECONNREFUSED
    errs = []
    threads = [threading.Thread(target=lambda: errs.append(
        connect_fails(socket.AF_INET, host4, blackhole))) for _ in range(m)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    timedout = errs.count(errno.ETIMEDOUT)
    print(f"reset {reset} refused {refused} timedout {timedout}")


def exchange(fam, host, port):
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.connect((host, port))
        s.sendall(b"hello\n.\n")
        while s.recv(4096):
            pass


def short(host4, host6, port, n, closed):
    made = refused = 0
    for fam, host in ((socket.AF_INET, host4), (socket.AF_INET6, host6)):
        for _ in range(n):
            exchange(fam, host, port)
            made += 1
        for _ in range(max(1, n // 10)):
            try:
                exchange(fam, host, closed)
            except ConnectionRefusedError:
                refused += 1
    print(f"made {made} refused {refused}")


def rr(host, port, n, gap_ms, out):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect((host, port))
    for _ in range(n):
        s.sendall(b"x\n")
        got = b""
        while not got.endswith(b"\n"):
            got += s.recv(4096)
        time.sleep(gap_ms / 1000.0)
    with open(out + ".tmp", "w") as f:
        f.write(f"{s.getsockname()[1]}\n")
    os.rename(out + ".tmp", out)
    while not os.path.exists(out + ".done"):
        time.sleep(0.05)
    s.close()


def main(argv):
    cmd = argv[1]
    if cmd == "serve":
        serve(int(argv[2]))
    elif cmd == "sink":
        serve(int(argv[2]), echo=False)
    elif cmd == "short":
        short(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]))
    elif cmd == "abort":
        abort(int(argv[2]))
    elif cmd == "fail":
        fail(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]), int(argv[7]),
             int(argv[8]))
    elif cmd == "rr":
        rr(argv[2], int(argv[3]), int(argv[4]), float(argv[5]), argv[6])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

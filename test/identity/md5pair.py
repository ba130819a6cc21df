#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A TCP connection whose SYN and SYN-ACK have no room left for another
option: both ends sign with TCP-MD5 (RFC 2385), whose 18 bytes with MSS,
timestamps and window scale fill the 40 bytes of a SYN's options.

  md5pair.py serve ADDR PORT PEER     listen, echo one line per connection
  md5pair.py connect ADDR PORT N      N connections, each one line echoed

PEER is the address the client connects from.  Prints "ok N" when done.
"""
import socket
import struct
import sys

TCP_MD5SIG = 14
KEY = b"sockops-cb-test"


def md5sig(addr):
    """struct tcp_md5sig for an IPv4 peer: sockaddr_storage, flags,
    prefixlen, keylen, ifindex, key[80]."""
    sa = struct.pack("=H", socket.AF_INET) + b"\0\0" + socket.inet_aton(addr)
    sa = sa.ljust(128, b"\0")
    return sa + struct.pack("=BBHi", 0, 0, len(KEY), 0) + KEY.ljust(80, b"\0")


def serve(addr, port, peer):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(peer))
    s.bind((addr, port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        c.sendall(c.recv(100))
        c.close()


def connect(addr, port, n):
    for _ in range(n):
        c = socket.socket()
        c.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(addr))
        c.settimeout(5)
        c.connect((addr, port))
        c.sendall(b"hi\n")
        if c.recv(100) != b"hi\n":
            sys.exit("no echo")
        c.close()
    print("ok %d" % n)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        connect(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))

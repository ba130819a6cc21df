#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A TCP client made of raw segments, each carrying an option the kernel
does not know (kind 253, RFC 4727's experimental kind, with no magic), for
the PARSE_UNKNOWN_HDR_OPT contract test: no Linux socket sends one.

  rawopt.py SRC DST PORT    handshake, 3 data segments, RST

Run it in a netns whose kernel drops its own RSTs (the kernel knows no
socket for these segments: iptables -A OUTPUT --tcp-flags RST RST -j DROP).
"""
import random
import socket
import struct
import sys
import time

UNKNOWN = bytes([253, 4, 0x5c, 0xb1])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def segment(src, dst, sport, dport, seq, ack, flags, payload=b""):
    opts = UNKNOWN
    if flags & 0x02:  # SYN: an MSS too, as any stack sends
        opts = struct.pack("!BBH", 2, 4, 1460) + opts
    doff = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4,
                      flags, 65535, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def main():
    src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sport = random.randint(40000, 60000)
    seq = random.randint(0, 1 << 31)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.settimeout(5)
    s.sendto(segment(src, dst, sport, port, seq, 0, 0x02), (dst, 0))
    deadline = time.time() + 5
    while True:
        if time.time() > deadline:
            sys.exit("rawopt: no SYN-ACK")
        pkt = s.recv(65535)
        ihl = (pkt[0] & 0x0F) * 4
        tcp = pkt[ihl:]
        sp, dp, sseq, sack, _, fl = struct.unpack("!HHIIBB", tcp[:14])
        if sp == port and dp == sport and fl & 0x12 == 0x12:
            break
    seq += 1
    ack = (sseq + 1) & 0xFFFFFFFF
    s.sendto(segment(src, dst, sport, port, seq, ack, 0x10), (dst, 0))
    for i in range(3):
        data = b"unknown option %d\n" % i
        s.sendto(segment(src, dst, sport, port, seq, ack, 0x18, data), (dst, 0))
        seq += len(data)
        time.sleep(0.2)
    s.sendto(segment(src, dst, sport, port, seq, ack, 0x14), (dst, 0))


main()

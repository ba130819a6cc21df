#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Forge the client side of one TCP handshake whose SYN carries an
experimental option (kind 253) of the test's making, with scapy, then ACK
the SYN-ACK and close (FIN): the server's kernel completes an accept with that
SYN saved, which is what sockops-cb reads.

  forge.py DST PORT VALUE-HEX    the option is 253, 2 + len(VALUE), VALUE

Run it in a netns whose kernel drops its own RSTs to PORT (the kernel knows
no socket for these segments).  Prints "synack" once the server answered.
"""
import random
import sys

from scapy.all import IP, TCP, conf, send, sr1
from scapy.supersocket import L3RawSocket


def main():
    dst, port, value = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
    conf.L3socket = L3RawSocket
    conf.verb = 0
    sport = random.randint(20000, 60000)
    seq = random.randint(0, 1 << 31)
    syn = IP(dst=dst) / TCP(sport=sport, dport=port, flags="S", seq=seq,
                            options=[("MSS", 1460), (253, value)])
    synack = sr1(syn, timeout=3)
    if synack is None or synack[TCP].flags != "SA":
        sys.exit("no SYN-ACK from %s:%d" % (dst, port))
    print("synack")
    ack = IP(dst=dst) / TCP(sport=sport, dport=port, flags="A", seq=seq + 1,
                            ack=synack[TCP].seq + 1)
    send(ack)
    send(IP(dst=dst) / TCP(sport=sport, dport=port, flags="FA", seq=seq + 1,
                            ack=synack[TCP].seq + 1))


if __name__ == "__main__":
    main()

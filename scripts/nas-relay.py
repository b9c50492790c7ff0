#!/usr/bin/env python3
# The simulated NAS's wire (issue 15): ssh's ProxyCommand for scripts/nas-sim.js. Relays stdin to a
# TCP port and the port's answers to stdout, holding every chunk DELAY_MS before passing it on, in
# order, in each direction: a round trip costs 2 x DELAY_MS more, like a NAS on a wired LAN.
#
#   nas-relay.py HOST PORT DELAY_MS
#
# Python, not Node: a Node timer cannot wait less than a millisecond, select() can.
import os
import selectors
import socket
import sys
import time
from collections import deque


def main():
    host, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 1000
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    os.set_blocking(stdin, False)
    # Each direction a queue of (due time, bytes); None in `up` stands for the end of input.
    up, down = deque(), deque()
    selector = selectors.SelectSelector()  # select() waits in microseconds; epoll and poll round up to milliseconds
    selector.register(stdin, selectors.EVENT_READ, up)
    selector.register(sock, selectors.EVENT_READ, down)
    while True:
        now = time.monotonic()
        flush(up, now, lambda data: send_all(sock, data))
        flush(down, now, lambda data: write_all(stdout, data))
        due = [q[0][0] for q in (up, down) if q]
        timeout = max(0, min(due) - time.monotonic()) if due else None
        for key, _ in selector.select(timeout):
            queue = key.data
            try:
                data = os.read(stdin, 65536) if queue is up else sock.recv(65536)
            except BlockingIOError:
                continue
            if not data:
                selector.unregister(key.fileobj)
                if queue is up:
                    queue.append((time.monotonic() + delay, None))  # end of input: shut the socket after the delay
                else:  # the server closed: pass on what it said, then end
                    time.sleep(delay)
                    flush(down, float('inf'), lambda data: write_all(stdout, data))
                    return
                continue
            queue.append((time.monotonic() + delay, data))


def flush(queue, now, write):
    while queue and queue[0][0] <= now:
        write(queue.popleft()[1])


def send_all(sock, data):
    if data is None:
        sock.shutdown(socket.SHUT_WR)
        return
    sock.setblocking(True)  # a full socket buffer waits here, as a full wire would
    try:
        sock.sendall(data)
    finally:
        sock.setblocking(False)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            selectors.DefaultSelector().select(0.0001)


if __name__ == '__main__':
    try:
        main()
    except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass

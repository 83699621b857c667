"""A TCP proxy of the suite's own that puts real network faults between walletd and a server.

This kernel has no netem, so latency, resets, refused connections and hangs come from here: point
walletd at the proxy's port instead of the server's and switch faults on and off from the test.

    proxy = FaultProxy(target_port)          # listens on 127.0.0.1:proxy.port
    proxy.refuse(seconds)                    # new connections are reset at once (for a while)
    proxy.reset_all()                        # every open connection is reset now (how many)
    proxy.set_latency(0.3)                   # every chunk waits 300 ms before it is forwarded
    proxy.set_blackhole(True)                # nothing is forwarded: connections hang, unanswered
    proxy.lose_next_commit_reply(refuse_s)   # MySQL: COMMIT reaches the server and commits; its OK
                                             # never reaches the client, whose connection drops
    proxy.hold_next_commit(hold_s)           # MySQL: the client's connection drops right after it
                                             # sent COMMIT; the server gets it hold_s later
    proxy.close()

The two COMMIT faults read the MySQL client/server protocol (3-byte length, sequence number,
payload; a command is a packet with sequence 0, COM_QUERY is 0x03) to find the text "COMMIT",
which is what Connector/C's mysql_commit() sends. They are one-shot: the next COMMIT on any
connection through the proxy takes the fault, later ones pass.
"""

import contextlib
import socket
import struct
import threading
import time

COM_QUERY = 0x03


def _rst_close(sock):
    """Closes sock with a TCP reset (SO_LINGER 0) rather than an orderly FIN. shutdown(SHUT_RD)
    first wakes a thread blocked in recv on it, which would otherwise keep the socket (and the
    reset) alive until data came."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()


def _quiet_close(sock):
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class _Link:
    """One client connection and its connection to the server, pumped by two threads."""

    def __init__(self, proxy, client, server):
        self.proxy = proxy
        self.client = client
        self.server = server
        self.swallow_reply = False  # the server's next bytes are dropped, then both sides cut
        self.closed = False
        self.buf = b""              # client bytes not yet split into MySQL packets

    def start(self):
        threading.Thread(target=self._pump_up, daemon=True).start()
        threading.Thread(target=self._pump_down, daemon=True).start()

    def close(self, reset=False):
        if self.closed:
            return
        self.closed = True
        (_rst_close if reset else _quiet_close)(self.client)
        _quiet_close(self.server)
        self.proxy._forget(self)

    def _pump(self, source, forward):
        """Reads source until it closes, fails or the link is closed, handing every chunk to
        forward. True when it stopped so; False when forward returned False (it has dealt with
        the link itself)."""
        try:
            while not self.closed:
                self.proxy._wait_while_blackholed(self)
                data = source.recv(65536)
                if not data:
                    break
                if not forward(data):
                    return False
        except OSError:
            pass
        return True

    # client -> server
    def _pump_up(self):
        if self._pump(self.client, self._to_server):
            self.close()

    def _to_server(self, data):
        self.proxy._delay()
        if self.proxy.mysql:
            return self._forward_mysql(data)
        self.server.sendall(data)
        return True

    def _forward_mysql(self, data):
        """Forwards whole packets; applies an armed COMMIT fault. False once the link is cut."""
        self.buf += data
        out = b""
        while len(self.buf) >= 4:
            length = int.from_bytes(self.buf[:3], "little")
            if len(self.buf) < 4 + length:
                break
            packet, self.buf = self.buf[:4 + length], self.buf[4 + length:]
            seq, payload = packet[3], packet[4:]
            if seq == 0 and payload[:1] == bytes([COM_QUERY]) and \
                    payload[1:].strip().upper() == b"COMMIT":
                fault = self.proxy._take_commit_fault()
                if fault is not None:
                    if out:
                        self.server.sendall(out)
                    return self._commit_fault(fault, packet)
            out += packet
        if out:
            self.server.sendall(out)
        return True

    def _commit_fault(self, fault, packet):
        kind, seconds, refuse_s = fault
        if kind == "lose":
            self.swallow_reply = True
            self.proxy._pending_refuse = refuse_s
            self.server.sendall(packet)
            return True  # the down pump drops the OK and cuts both sides
        # hold: the client loses its connection now; the server gets COMMIT later
        self.proxy.refuse(refuse_s)
        _rst_close(self.client)

        def deliver():
            time.sleep(seconds)
            try:
                self.server.sendall(packet)
                self.server.settimeout(30)
                self.server.recv(65536)  # the server's answer: the commit is done
            except OSError:
                pass
            self.closed = True
            _quiet_close(self.server)
            self.proxy._forget(self)
            self.proxy.held_commits_delivered += 1

        threading.Thread(target=deliver, daemon=True).start()
        return False

    # server -> client
    def _pump_down(self):
        if self._pump(self.server, self._to_client) and not self.swallow_reply:
            self.close()

    def _to_client(self, data):
        if self.swallow_reply:
            self.proxy.refuse(self.proxy._pending_refuse)
            self.proxy.lost_commit_replies += 1
            self.close(reset=True)
            return False
        self.proxy._delay()
        self.client.sendall(data)
        return True


class FaultProxy:
    """Listens on 127.0.0.1:self.port and forwards each connection to target_host:target_port."""

    def __init__(self, target_port, target_host="127.0.0.1", mysql=True):
        self.target = (target_host, target_port)
        self.mysql = mysql
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._links = set()
        self._refuse_until = 0.0
        self._pending_refuse = 0.0
        self._commit_fault = None
        self._latency = 0.0
        self._blackhole = threading.Event()
        self._open = threading.Event()
        self._open.set()
        self.accepted = 0
        self.refused = 0
        self.lost_commit_replies = 0
        self.held_commits_delivered = 0
        self._stopped = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    # -- faults ---------------------------------------------------------------------------
    def refuse(self, seconds):
        """New connections are reset at once for the next `seconds`."""
        with self._lock:
            self._refuse_until = max(self._refuse_until, time.monotonic() + seconds)

    def stop_refusing(self):
        with self._lock:
            self._refuse_until = 0.0

    def reset_all(self):
        """Resets every connection open now (the client sees ECONNRESET); returns how many."""
        with self._lock:
            links = list(self._links)
        for link in links:
            link.close(reset=True)
        return len(links)

    def set_latency(self, seconds):
        self._latency = seconds

    def set_blackhole(self, on):
        """On: nothing is forwarded either way and new connections get no greeting; they hang."""
        if on:
            self._blackhole.set()
            self._open.clear()
        else:
            self._blackhole.clear()
            self._open.set()

    def lose_next_commit_reply(self, refuse_s=0.0):
        with self._lock:
            self._commit_fault = ("lose", 0.0, refuse_s)

    def hold_next_commit(self, hold_s, refuse_s=0.0):
        with self._lock:
            self._commit_fault = ("hold", hold_s, refuse_s)

    def commit_fault_armed(self):
        with self._lock:
            return self._commit_fault is not None

    def clear(self):
        """Every fault off and the counters back to 0 (connections already cut stay cut)."""
        with self._lock:
            self._commit_fault = None
            self._refuse_until = 0.0
        self._latency = 0.0
        self.set_blackhole(False)
        self.refused = self.lost_commit_replies = self.held_commits_delivered = 0

    def close(self):
        self._stopped = True
        self.set_blackhole(False)
        _quiet_close(self.listener)
        self.reset_all()

    # -- internals --------------------------------------------------------------------------
    def _take_commit_fault(self):
        with self._lock:
            fault, self._commit_fault = self._commit_fault, None
            return fault

    def _forget(self, link):
        with self._lock:
            self._links.discard(link)

    def _delay(self):
        if self._latency > 0:
            time.sleep(self._latency)

    def _wait_while_blackholed(self, link):
        while self._blackhole.is_set() and not link.closed and not self._stopped:
            self._open.wait(0.05)

    def _accept_loop(self):
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                refusing = time.monotonic() < self._refuse_until
            if refusing:
                self.refused += 1
                _rst_close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _rst_close(client)
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(self, client, server)
            with self._lock:
                self._links.add(link)
                self.accepted += 1
            link.start()

"""A TCP relay between the nodes and the broker that can black-hole its
traffic, for the partition tests. Standard library only.

    relay = Relay(("127.0.0.1", 5672))   # listens on 127.0.0.1:<ephemeral>
    relay.port                           # give this to the node as RABBITMQ_PORT
    relay.blackhole(True)                # a pulled cable: nothing moves, nothing closes
    relay.blackhole(False)               # new bytes flow again on the same connections
    relay.reset()                        # a blink: every open connection closes, new ones are welcome
    relay.close()

Black-holed, the relay still accepts connections and still reads every socket,
but it throws the bytes away (also whatever it had buffered), and it holds back
closes too: on a dropped route neither the data nor the FIN gets through, so
no peer learns anything from the relay. Toxiproxy's `timeout` toxic with
timeout=0 is the model. Dropped bytes are gone for good: after the heal each
side gets only what was sent after it, as if the stream had a hole.

One daemon thread runs a selector loop over non-blocking sockets; it wakes at
least every SELECT_S to notice close()."""

import selectors
import socket
import threading

SELECT_S = 0.05
CHUNK = 65536
# Forwarding stops reading a side while this much waits for its peer, so a
# slow reader cannot make the relay buffer without bound.
MAX_PENDING = 1 << 20
UPSTREAM_CONNECT_TIMEOUT_S = 2.0
CLOSE_JOIN_S = 5.0


class _Pipe:
    """One accepted connection and its upstream: two sockets, and per socket
    the bytes still to be written to it."""

    def __init__(self, client, upstream):
        self.socks = (client, upstream)
        self.pending = {client: bytearray(), upstream: bytearray()}
        self.eof = set()  # sockets that sent EOF (or failed) while black-holed: close on heal

    def peer(self, sock):
        return self.socks[1] if sock is self.socks[0] else self.socks[0]


class Relay:
    def __init__(self, upstream, host="127.0.0.1"):
        self.upstream = upstream
        # Guards the switch, the counters and changes to _pipes, and is held
        # while the loop moves bytes: once blackhole(True) returns, not one
        # more byte is forwarded. Only the loop thread changes _pipes.
        self._lock = threading.RLock()
        self._blackholed = False
        self._closing = False
        self._resets = 0    # reset() calls the loop has not carried out yet
        self.forwarded = 0  # bytes delivered to a peer
        self.dropped = 0    # bytes read and thrown away while black-holed
        self.accepted = 0
        self.open = 0       # accepted connections with both sockets still open
        self._pipes = {}    # socket -> _Pipe (both sockets of a pipe map to it)
        self._selector = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(64)
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._run, name=f"relay-{self.port}", daemon=True)
        self._thread.start()

    # --- the switch and what tests look at --------------------------------------

    def blackhole(self, on):
        with self._lock:
            self._blackholed = bool(on)
            if on:  # what was queued before the switch is dropped, never delivered later
                for pipe in self._pipes.values():
                    self._drop_pending(pipe)

    def reset(self):
        """Closes both sides of every open connection (the loop does it within
        SELECT_S): each peer sees its connection end, and may connect again."""
        with self._lock:
            self._resets += 1

    @property
    def blackholed(self):
        with self._lock:
            return self._blackholed

    def stats(self):
        """Counters for the tests (the loop owns _pipes; these are copies under the lock)."""
        with self._lock:
            return {"port": self.port, "blackholed": self._blackholed, "accepted": self.accepted,
                    "open": self.open, "forwarded": self.forwarded, "dropped": self.dropped}

    def close(self):
        with self._lock:
            if self._closing:
                return
            self._closing = True
        self._thread.join(CLOSE_JOIN_S)
        # The loop has ended (or is stuck past any reason): close from here.
        for sock in list(self._pipes):
            sock.close()
        self._pipes.clear()
        with self._lock:
            self.open = 0
        self._listener.close()
        self._selector.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # --- the loop -----------------------------------------------------------------

    def _run(self):
        while True:
            with self._lock:
                if self._closing:
                    return
                blackholed = self._blackholed
                resets, self._resets = self._resets, 0
            if resets:
                for pipe in {id(p): p for p in self._pipes.values()}.values():
                    self._close_pipe(pipe)
            if not blackholed:
                self._flush_heal()
            self._update_interest(blackholed)
            for key, events in self._selector.select(SELECT_S):
                sock = key.fileobj
                if sock is self._listener:
                    self._accept()
                elif sock in self._pipes:  # an earlier event may have closed it
                    self._service(sock, events)

    def _accept(self):
        try:
            client, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        # Upstream is local: a blocking connect with a timeout is brief.
        try:
            upstream = socket.create_connection(self.upstream, timeout=UPSTREAM_CONNECT_TIMEOUT_S)
        except OSError:
            client.close()
            return
        pipe = _Pipe(client, upstream)
        with self._lock:
            for sock in pipe.socks:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._pipes[sock] = pipe
                self._selector.register(sock, selectors.EVENT_READ)
            self.accepted += 1
            self.open += 1

    def _update_interest(self, blackholed):
        """Black-holed: read everything (to drop it), write nothing. Else read
        a side only while its peer's backlog is small, write what is pending."""
        for sock, pipe in self._pipes.items():
            if sock in pipe.eof:
                events = 0
            elif blackholed:
                events = selectors.EVENT_READ
            else:
                events = selectors.EVENT_WRITE if pipe.pending[sock] else 0
                if len(pipe.pending[pipe.peer(sock)]) < MAX_PENDING:
                    events |= selectors.EVENT_READ
            self._set_events(sock, events)

    def _set_events(self, sock, events):
        registered = self._selector.get_map().get(sock)
        if registered is None and events:
            self._selector.register(sock, events)
        elif registered is not None and not events:
            self._selector.unregister(sock)
        elif registered is not None and registered.events != events:
            self._selector.modify(sock, events)

    def _service(self, sock, events):
        with self._lock:
            pipe = self._pipes[sock]
            if events & selectors.EVENT_READ:
                try:
                    data = sock.recv(CHUNK)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError:
                    data = b""
                if data == b"":
                    if self._blackholed:
                        pipe.eof.add(sock)  # hold the close back, like the data
                    else:
                        self._close_pipe(pipe)
                    return
                if data and self._blackholed:
                    self.dropped += len(data)
                elif data:
                    pipe.pending[pipe.peer(sock)] += data
                    self._write(pipe, pipe.peer(sock))
            if not self._blackholed and events & selectors.EVENT_WRITE and sock in self._pipes:
                self._write(pipe, sock)

    def _drop_pending(self, pipe):
        for queued in pipe.pending.values():
            self.dropped += len(queued)
            queued.clear()

    def _write(self, pipe, sock):
        """Sends what it can now; the rest waits for EVENT_WRITE."""
        backlog = pipe.pending[sock]
        if not backlog:
            return
        try:
            sent = sock.send(backlog)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close_pipe(pipe)
            return
        del backlog[:sent]
        self.forwarded += sent

    def _flush_heal(self):
        """After a heal, the closes held back during the black hole go through."""
        for pipe in {id(p): p for p in self._pipes.values()}.values():
            if pipe.eof:
                self._close_pipe(pipe)

    def _close_pipe(self, pipe):
        with self._lock:
            if pipe.socks[0] not in self._pipes:
                return
            self.open -= 1
            for sock in pipe.socks:
                if self._selector.get_map().get(sock) is not None:
                    self._selector.unregister(sock)
                self._pipes.pop(sock, None)
                sock.close()

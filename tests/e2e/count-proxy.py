#!/usr/bin/env python3
"""count-proxy.py - a TCP relay that counts the connections through it.

    count-proxy.py PORT_FILE TARGET_PORT LOG [drop-after-reply]

Listens on a port of 127.0.0.1 the kernel picks, writes it to PORT_FILE
once it listens, and relays each connection to 127.0.0.1:TARGET_PORT,
bytes untouched (TLS passes through).  Appends a line to LOG for each
connection accepted.

drop-after-reply: once the target has sent 100 KB or more on a
connection (a page of a listing, not a handshake), the client's next
bytes are not relayed and both sides are closed, as an agent that closed
a kept connection just as the next request came.

Runs until killed.
"""
import os
import socket
import sys
import threading

BIG = 100 * 1024


def relay(client, port, log, drop):
    try:
        target = socket.create_connection(("127.0.0.1", port))
    except OSError:
        client.close()
        return
    with open(log, "a", encoding="ascii") as f:
        f.write("conn\n")
    state = {"from_target": 0, "closed": False}
    lock = threading.Lock()

    def close_both():
        with lock:
            if state["closed"]:
                return
            state["closed"] = True
        for s in (client, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def pump(src, dst, upstream):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upstream and drop and state["from_target"] >= BIG:
                    break
                if not upstream:
                    state["from_target"] += len(data)
                dst.sendall(data)
        except OSError:
            pass
        close_both()

    threading.Thread(target=pump, args=(target, client, False), daemon=True).start()
    pump(client, target, True)


def main():
    port_file, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    drop = len(sys.argv) > 4 and sys.argv[4] == "drop-after-reply"
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    with open(port_file + ".tmp", "w", encoding="ascii") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = lsock.accept()
        threading.Thread(target=relay, args=(client, port, log, drop), daemon=True).start()


if __name__ == "__main__":
    main()

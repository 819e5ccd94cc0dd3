#!/usr/bin/env python3
# raw-https.py - sends the bytes of a file, as they are, to an agent over
# mutual TLS and prints what came back; for requests curl will not send
# (bytes that are not UTF-8 in the path, two Content-Length headers,
# malformed request lines).  Not a test itself: harden-api.sh uses it.
#
#   raw-https.py PORT CERT KEY REQUEST-FILE [TIMEOUT]
#
# Prints one line "STATUS SECONDS" (STATUS 0 when no HTTP answer came
# before TIMEOUT seconds, default 10, or the connection failed), then
# the reply's body.  Reads until the agent closes, or until a whole
# reply with a Content-Length has arrived.
import socket
import ssl
import sys
import time


def main():
    port, cert, key, path = sys.argv[1:5]
    limit = float(sys.argv[5]) if len(sys.argv) > 5 else 10.0
    with open(path, "rb") as f:
        request = f.read()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert, key)
    start = time.monotonic()
    data = b""
    try:
        raw = socket.create_connection(("127.0.0.1", int(port)), timeout=limit)
        s = ctx.wrap_socket(raw)
        s.sendall(request)
        while time.monotonic() - start < limit:
            s.settimeout(max(0.01, limit - (time.monotonic() - start)))
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if whole(data):
                break
        s.close()
    except (OSError, ssl.SSLError):
        pass
    took = time.monotonic() - start
    status = 0
    head, _, body = data.partition(b"\r\n\r\n")
    # A 100 Continue comes before the answer: skip it.
    while head.startswith(b"HTTP/1.1 100"):
        head, _, body = body.partition(b"\r\n\r\n")
    if head.startswith(b"HTTP/1."):
        try:
            status = int(head.split(b" ")[1])
        except (IndexError, ValueError):
            status = 0
    sys.stdout.write("%d %.2f\n" % (status, took))
    sys.stdout.flush()
    sys.stdout.buffer.write(body)


def whole(data):
    """True when data holds a reply (past any 100 Continue) whose
    Content-Length bytes have all arrived."""
    while data.startswith(b"HTTP/1.1 100"):
        _, sep, data = data.partition(b"\r\n\r\n")
        if not sep:
            return False
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


main()

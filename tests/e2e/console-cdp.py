#!/usr/bin/env python3
"""console-cdp.py - drives Debian's chromium, headless, over the DevTools
protocol on a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out, JSON
messages ended by NUL), for tests/e2e/console.sh.  Standard library only.

  console-cdp.py --home DIR --spki HASH [--chromium PATH] STEP...

HOME=DIR for the browser, so it reads DIR/.pki/nssdb (the client
certificate the test imported) and keeps its profile in DIR/profile.
--spki pins the agent's key (--ignore-certificate-errors-spki-list),
as the CLI pins the agent by fingerprint: the server side only.

Steps, run in order in one tab; each prints one line on stdout:
  goto:URL             navigate; "goto URL ok" or "goto URL error TEXT"
  wait:EXPR            poll the JS expression until truthy (20 s)
  eval:NAME=EXPR       print "NAME<TAB>JSON of the value" (awaits promises)
  click:SELECTOR       a real mouse click at the element's centre
  type:SELECTOR=TEXT   focus the element, clear it, type TEXT
  select:SELECTOR=VAL  set a <select>'s value
  file:SELECTOR=PATH   put PATH in a file input
  shot:PATH            a PNG screenshot of the page
  downloads:DIR        downloads go to DIR, without asking
  errors:NAME          print "NAME<TAB>JSON list" of the script exceptions
                       and Content-Security-Policy violations so far
A step that fails prints "error STEP: why" and ends the run, exit 1.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import time


class Browser:
    def __init__(self, chromium, home, spki):
        r_child, w_parent = os.pipe()  # we write, chromium reads fd 3
        r_parent, w_child = os.pipe()  # chromium writes fd 4, we read
        os.makedirs(os.path.join(home, "profile"), exist_ok=True)
        env = dict(os.environ, HOME=home)
        args = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--password-store=basic", "--window-size=1280,900",
                "--user-data-dir=" + os.path.join(home, "profile"),
                "--remote-debugging-pipe", "about:blank"]
        if spki:
            args.insert(1, "--ignore-certificate-errors-spki-list=" + spki)

        # Copies first: either end may already be fd 3 or 4.
        def fds():
            r, w = os.dup(r_child), os.dup(w_child)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            args, env=env, preexec_fn=fds, pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(home, "chromium.log"), "wb"))
        os.close(r_child)
        os.close(w_child)
        self.w = os.fdopen(w_parent, "wb", buffering=0)
        self.r = os.fdopen(r_parent, "rb", buffering=0)
        self.buf = b""
        self.next_id = 0
        self.session = None
        self.events = []
        self.errors = []

    def _read_msg(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = self.r.read(65536)
            if not chunk:
                raise EOFError("chromium closed its pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.w.write(json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_msg(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)
                self.note_error(m)

    def note_error(self, m):
        p = m.get("params", {})
        if m["method"] == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.errors.append(d.get("exception", {}).get("description", d.get("text")))
        elif m["method"] == "Log.entryAdded":
            e = p.get("entry", {})
            if e.get("source") == "security" or "Content Security Policy" in e.get("text", ""):
                self.errors.append(e.get("text"))

    def attach(self):
        targets = self.call("Target.getTargets", session=False)["targetInfos"]
        page = [t for t in targets if t["type"] == "page"][0]
        self.session = self.call("Target.attachToTarget", {
            "targetId": page["targetId"], "flatten": True},
            session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Log.enable")

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", {
            "expression": expr, "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise RuntimeError("JS: %s" % d.get("exception", {}).get(
                "description", d.get("text")))
        return r.get("result", {}).get("value")

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_for(b, expr, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if b.evaluate("!!(%s)" % expr):
                return
        except RuntimeError:
            pass  # a navigation in progress: its context went away
        time.sleep(0.1)
    raise TimeoutError("still false after %d s: %s" % (seconds, expr))


def goto(b, url):
    b.events.clear()
    r = b.call("Page.navigate", {"url": url})
    if r.get("errorText"):
        return "goto %s error %s" % (url, r["errorText"])
    # The load event of this navigation (a same-document one has none).
    deadline = time.time() + 20
    if "loaderId" in r:
        while not any(e.get("method") == "Page.loadEventFired" for e in b.events):
            if time.time() > deadline:
                raise TimeoutError("no load event for " + url)
            b.call("Runtime.evaluate", {"expression": "1"})
            time.sleep(0.05)
    return "goto %s ok" % url


def split(arg):
    sel, _, val = arg.partition("=")
    return sel, val


def click(b, sel):
    box = b.evaluate(
        "(function(){const e=document.querySelector(%s);"
        "if(!e)return null;e.scrollIntoView({block:'center'});"
        "const r=e.getBoundingClientRect();"
        "return [r.left+r.width/2,r.top+r.height/2];})()" % json.dumps(sel))
    if box is None:
        raise RuntimeError("no element " + sel)
    for kind in ("mousePressed", "mouseReleased"):
        b.call("Input.dispatchMouseEvent", {
            "type": kind, "x": box[0], "y": box[1], "button": "left",
            "clickCount": 1})


def run_step(b, step):
    kind, _, arg = step.partition(":")
    if kind == "goto":
        return goto(b, arg)
    if kind == "wait":
        wait_for(b, arg)
        return "wait ok"
    if kind == "eval":
        name, expr = split(arg)
        return "%s\t%s" % (name, json.dumps(b.evaluate(expr)))
    if kind == "click":
        click(b, arg)
        return "click %s ok" % arg
    if kind == "type":
        sel, text = split(arg)
        b.evaluate("(function(){const e=document.querySelector(%s);"
                   "e.focus();e.value='';})()" % json.dumps(sel))
        b.call("Input.insertText", {"text": text})
        return "type %s ok" % sel
    if kind == "select":
        sel, val = split(arg)
        b.evaluate("(function(){const e=document.querySelector(%s);"
                   "e.value=%s;e.dispatchEvent(new Event('change'));})()"
                   % (json.dumps(sel), json.dumps(val)))
        return "select %s ok" % sel
    if kind == "file":
        sel, path = split(arg)
        root = b.call("DOM.getDocument")["root"]["nodeId"]
        node = b.call("DOM.querySelector", {"nodeId": root, "selector": sel})["nodeId"]
        b.call("DOM.setFileInputFiles", {"files": [path], "nodeId": node})
        return "file %s ok" % sel
    if kind == "errors":
        b.call("Runtime.evaluate", {"expression": "1"})  # events so far
        return "%s\t%s" % (arg, json.dumps(b.errors))
    if kind == "downloads":
        b.call("Browser.setDownloadBehavior", {
            "behavior": "allow", "downloadPath": arg}, session=False)
        return "downloads %s ok" % arg
    if kind == "shot":
        data = b.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(arg, "wb") as f:
            f.write(base64.b64decode(data))
        return "shot %s ok" % arg
    raise RuntimeError("unknown step " + step)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--spki", default="")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("steps", nargs="+")
    a = ap.parse_args()
    b = Browser(a.chromium, a.home, a.spki)
    rc = 0
    step = "start"
    try:
        b.attach()
        for step in a.steps:
            print(run_step(b, step), flush=True)
    except Exception as e:  # one line for the test, whatever went wrong
        print("error %s: %s" % (step, e), flush=True)
        rc = 1
    finally:
        b.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())

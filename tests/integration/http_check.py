#!/usr/bin/python3
"""Helpers of test_http.c (Debian's python3 with python3-prometheus-client, python3-websocket).

  http_check.py metrics FILE
      Parses FILE with prometheus_client's text-format parser, checks what the parser does not
      (every family has HELP and TYPE, counters end in _total, histogram buckets are cumulative
      with +Inf equal to _count), and prints one line per sample: NAME{LABELS} VALUE, labels
      sorted. Exit 1 with a reason on the first problem.

  http_check.py page URL DNS_PORT QNAME OUTDIR
      Starts headless Chromium with the DevTools protocol, opens URL (the live page), waits until
      it shows counters, sends one A query for QNAME to 127.0.0.1@DNS_PORT (a rebinding answer in
      the lab), waits until the page's DOM lists an event for QNAME, saves OUTDIR/live-page.png
      and prints the event's text. Every wait is bounded. Exit 1 with a reason on failure.
"""
import base64
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print("http_check: " + msg, file=sys.stderr)
    sys.exit(1)


def check_metrics(path):
    from prometheus_client.parser import text_string_to_metric_families
    text = open(path, encoding="utf-8").read()
    helps, types = set(), {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            if not any(name == f or name.startswith(f + "_") for f in types):
                fail("sample without TYPE: " + line)
    out = []
    for fam in text_string_to_metric_families(text):
        # the parser strips _total from counter family names
        base = fam.name + ("_total" if fam.type == "counter" else "")
        if base not in helps or base not in types:
            fail("no HELP/TYPE for " + base)
        if not base.startswith("vigil_"):
            fail("name without the vigil_ prefix: " + base)
        if fam.type == "histogram":
            buckets = [(s.labels["le"], s.value) for s in fam.samples
                       if s.name.endswith("_bucket")]
            count = [s.value for s in fam.samples if s.name.endswith("_count")]
            if not buckets or buckets[-1][0] != "+Inf" or len(count) != 1:
                fail(base + ": no +Inf bucket or _count")
            prev_le, prev_n = -1.0, -1.0
            for le, n in buckets:
                lev = float("inf") if le == "+Inf" else float(le)
                if lev <= prev_le or n < prev_n:
                    fail(base + ": buckets not cumulative at le=" + le)
                prev_le, prev_n = lev, n
            if buckets[-1][1] != count[0]:
                fail(base + ": +Inf bucket differs from _count")
        for s in fam.samples:
            labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
            out.append("%s{%s} %s" % (s.name, labels, repr(float(s.value))))
    print("\n".join(out))


def dns_query(port, qname):
    qid = random.randrange(65536)
    wire = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in qname.rstrip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    wire += b"\x00" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(wire, ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
    if struct.unpack(">H", data[:2])[0] != qid:
        fail("DNS reply with another ID")


class DevTools:
    def __init__(self, ws_url):
        import websocket
        self.ws = websocket.create_connection(ws_url, timeout=10, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    fail("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
        fail(method + ": no answer within 15 s")

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r.get("result", {}).get("value")


def wait_for(dt, expr, what, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        v = dt.eval(expr)
        if v:
            return v
        time.sleep(0.2)
    fail("the page did not show %s within %d s; body: %s"
         % (what, seconds, dt.eval("document.body.innerText")))


def check_page(url, dns_port, qname, outdir):
    browser = shutil.which("chromium")
    if not browser:
        fail("chromium is not installed (apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="vigil-chromium-")
    args = [browser, "--headless", "--disable-gpu", "--no-first-run",
            "--user-data-dir=" + profile, "--remote-debugging-port=0",
            "--remote-allow-origins=*", "--window-size=1200,900", "about:blank"]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.monotonic() > deadline or proc.poll() is not None:
                fail("chromium did not start its DevTools endpoint: "
                     + proc.stderr.read1(4096).decode(errors="replace")
                     if proc.poll() is not None else "chromium: no DevTools endpoint in 30 s")
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        import urllib.request
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port,
                                                   timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        dt = DevTools(page["webSocketDebuggerUrl"])
        dt.call("Page.enable")
        dt.call("Page.navigate", url=url)
        wait_for(dt, "document.querySelectorAll('#counters tr').length > 10", "the counters")
        wait_for(dt, "document.getElementById('status').textContent.startsWith('updated')",
                 "a refresh")
        dns_query(dns_port, qname)
        sel = "document.querySelector('#events li.event[data-qname=\"%s\"]')" % qname
        text = wait_for(dt, "(%s || {}).innerText" % sel, "the event for " + qname)
        reason = dt.eval(sel + ".dataset.reason")
        server = dt.eval(sel + ".querySelector('.server').textContent")
        shot = dt.call("Page.captureScreenshot", format="png")
        os.makedirs(outdir, exist_ok=True)
        with open(os.path.join(outdir, "live-page.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("reason=%s server=%s text=%s" % (reason, server, text.replace("\n", " | ")))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "metrics":
        check_metrics(sys.argv[2])
    elif len(sys.argv) == 6 and sys.argv[1] == "page":
        check_page(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        fail("usage: see the docstring")

"""An app backend's pre-upload hook for the tests: verifies each request with the Standard
Webhooks reference library (`standardwebhooks` on PyPI), not with the gateway's code, logs one
JSON line per request to --log ({"id", "payload"} when verified, {"invalid": why} when not,
answered 401), and answers by the first word of the file name asked for:

  allow…    {"allow": true}
  deny…     (or a user whose name starts with "denied")
            {"allow": false, "message": <a long message with control characters>}
  suffix…   {"allow": true, "key_suffix": "from-hook/<filename>", "metadata": {"plan": "pro"}}
  escape…   {"allow": true, "key_suffix": "../bob/x.png"}
  small…    {"allow": true, "max_size_bytes": 100}
  slow…     the allow answer after 3 s
  garbage…  200 with a body that is not JSON
  huge…     200 with 1 MB of JSON
  redirect… 302 to another URL
  (a user whose name starts with "override": a key suffix and a size limit, whatever asked)
  (no file name, e.g. STS credentials): {"allow": true}

    python3 pre_upload.py --port 8123 --secret whsec_... --log got.jsonl
"""

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

args = None
lock = threading.Lock()

DENY = "Storage plan full:\n\tupgrade\x07 to upload more. " + "x" * 500


def record(line):
    with lock, open(args.log, "a") as f:
        f.write(json.dumps(line) + "\n")
        f.flush()
        os.fsync(f.fileno())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            payload = Webhook(args.secret).verify(body, dict(self.headers.items()))
        except WebhookVerificationError as e:
            record({"invalid": str(e)})
            return self.answer(401, b"")
        record({"id": self.headers["webhook-id"], "payload": payload})
        name = payload.get("filename") or ""
        if name.startswith("deny") or payload["user"].startswith("denied"):
            return self.json({"allow": False, "message": DENY})
        if payload["user"].startswith("override"):
            return self.json({"allow": True, "key_suffix": "x.png", "max_size_bytes": 5})
        if name.startswith("suffix"):
            return self.json({
                "allow": True,
                "key_suffix": "from-hook/" + name,
                "metadata": {"plan": "pro"},
            })
        if name.startswith("escape"):
            return self.json({"allow": True, "key_suffix": "../bob/x.png"})
        if name.startswith("small"):
            return self.json({"allow": True, "max_size_bytes": 100})
        if name.startswith("slow"):
            time.sleep(3)
            return self.json({"allow": True})
        if name.startswith("garbage"):
            return self.answer(200, b"<html>oops</html>")
        if name.startswith("huge"):
            return self.json({"allow": True, "pad": "x" * (1 << 20)})
        if name.startswith("redirect"):
            self.send_response(302)
            self.send_header("location", "http://127.0.0.1:1/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()
            return
        return self.json({"allow": True})

    def json(self, value):
        self.answer(200, json.dumps(value).encode())

    def answer(self, status, body):
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway gave up first (slow, huge): that is the test

    def log_message(self, *a):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

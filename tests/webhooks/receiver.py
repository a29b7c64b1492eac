"""A webhook receiver for the tests: verifies each request with the Standard Webhooks
reference library (`standardwebhooks` on PyPI), not with the gateway's code, and appends one
JSON line per request to --log: {"id", "type", "upload_id"} when the signature verifies,
{"invalid": why} when it does not (answered 401).

    python3 receiver.py --port 8123 --secret whsec_... --log got.jsonl [--status 500] [--delay-ms 50]
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
            return self.answer(401)
        if args.delay_ms:
            time.sleep(args.delay_ms / 1000)
        if args.status < 300:
            # Recorded before answering: a receiver killed in between has it, and the
            # gateway (which saw no answer) sends it again under the same id.
            record({
                "id": self.headers["webhook-id"],
                "type": payload["type"],
                "upload_id": payload["data"]["upload_id"],
            })
        self.answer(args.status)

    def answer(self, status):
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A killed gateway resets its connections; that is the test, not an error.
        pass


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--status", type=int, default=204)
    p.add_argument("--delay-ms", type=int, default=0)
    args = p.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""An example reward service for Rollout's trainer, using only Python's standard library.

The trainer POSTs one JSON object per batch of completions, every argument as a list with one entry per completion,
as TRL passes keyword arguments to a reward function:

    {"prompts": ["2+3=", ...], "completions": ["5", ...], "completion_ids": [[17, 2], ...],
     "answer": ["5", ...], ...every other dataset column...}

and expects {"rewards": [1.0, 0.0, null, ...]}: one number per completion, or null where the service cannot judge it
(the completion then counts for the other rewards only). Any other answer, an HTTP error or a timeout fails the step
(or scores NaN, with reward_errors: nan).

This one scores 1.0 when the stripped completion equals the row's "answer" column, 0.0 when it does not, and null
when the row has no answer. Run it, then name its URL in the trainer's config:

    python3 examples/reward_server.py --port 8000
    reward_funcs: [accuracy, "http://127.0.0.1:8000/score"]

--port 0 takes a free port; the first line printed says which ("listening on http://127.0.0.1:PORT/score").
--token-file makes it require "Authorization: Bearer <token>" (the trainer's remote_rewards.auth_token_file).
--log FILE appends every request it receives to FILE, one JSON object per line.
--max-seconds N stops it after N seconds (for scripts and tests that must not leave it running).
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def score(request):
    """The rewards of one request: exact match of the completion with the answer column."""
    completions = request["completions"]
    answers = request.get("answer", [None] * len(completions))
    return [None if answer is None else float(completion.strip() == str(answer).strip())
            for completion, answer in zip(completions, answers)]


class Handler(BaseHTTPRequestHandler):
    token = None
    log = None
    log_lock = threading.Lock()

    def do_POST(self):
        if self.path != "/score":
            return self.reply(404, {"error": "POST to /score"})
        if self.token is not None and self.headers.get("Authorization") != "Bearer " + self.token:
            return self.reply(401, {"error": "missing or wrong bearer token"})
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            completions = request["completions"]
        except (ValueError, KeyError, TypeError) as e:
            return self.reply(400, {"error": "expected a JSON object with a \"completions\" list: %s" % e})
        if self.log is not None:
            with self.log_lock, open(self.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(request) + "\n")
        rewards = score(request)
        assert len(rewards) == len(completions)
        self.reply(200, {"rewards": rewards})

    def reply(self, status, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        sys.stderr.write("reward_server: " + (format % args) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s, loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind; 0 for any free one (default: %(default)s)")
    parser.add_argument("--token-file", help="file holding the bearer token requests must carry")
    parser.add_argument("--log", help="append each request received to this file, one JSON object per line")
    parser.add_argument("--max-seconds", type=float, help="stop after this many seconds (default: run until killed)")
    args = parser.parse_args()
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            Handler.token = f.read().strip()
    Handler.log = args.log
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    if args.max_seconds:
        timer = threading.Timer(args.max_seconds, server.shutdown)
        timer.daemon = True
        timer.start()
    print("listening on http://%s:%d/score" % (args.host, server.server_address[1]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

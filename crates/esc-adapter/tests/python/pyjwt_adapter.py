"""A minimal ESC Connect adapter written the way the published examples are:
PyJWT's PyJWKClient for the keys, jwt.decode with RS256 and the adapter URL as
audience, then the body_hash check; the standard library's http.server.

Used by esc-adapter's compatibility test and the adapter throughput benchmark.

Environment: JWKS_URL, ADAPTER_URL, PORT (0 picks one; the bound port is printed
as "listening on PORT"), and values ADAPTER_VALUE_<NAME> served for {"name": NAME}.
"""

import base64
import hashlib
import hmac
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

JWKS_URL = os.environ["JWKS_URL"]
ADAPTER_URL = os.environ["ADAPTER_URL"]
jwks_client = jwt.PyJWKClient(JWKS_URL)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return self.reply(401, {"error": "missing bearer token"})
        token = auth[len("Bearer "):]
        try:
            signing_key = jwks_client.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                audience=ADAPTER_URL,
            )
        except jwt.PyJWTError:
            return self.reply(401, {"error": "invalid token"})
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if not hmac.compare_digest(claims.get("body_hash", ""), "sha256-" + digest):
            return self.reply(401, {"error": "body hash mismatch"})
        try:
            name = json.loads(body)["name"]
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": "expected {\"name\": ...}"})
        value = os.environ.get("ADAPTER_VALUE_" + str(name))
        if value is None:
            return self.reply(404, {"error": "no such value"})
        return self.reply(200, {"value": value, "org": claims["org"]})

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


class Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops connections under a benchmark's concurrency.
    request_queue_size = 128


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(os.environ.get("PORT", "0"))), Handler)
    print("listening on", server.server_address[1], flush=True)
    server.serve_forever()

"""An adapter written as Pulumi's published ESC Connect docs show one (PyJWT's
PyJWKClient, jwt.decode with RS256 and the adapter URL as audience, the SRI
body_hash check, the standard library's http.server), made stricter where the
contract allows: every claim required, iss, nbf and iat checked, one JSON
Content-Type, the key's kid found in the JWKS, a jti never seen twice.

Routes: POST /fetch-secrets (provider: {"secretName": NAME} -> {"value":
$NAME, "claims": {...}}), POST /rotate-credentials (rotator: {"request",
"state"} -> a new state counting rotations), POST /unavailable (503 with
the reason in an HTML error page, as send_error writes it).

Environment: JWKS_URL, ISSUER, PORT (0 picks one; "listening on PORT" is
printed first). The audience is http://127.0.0.1:PORT + the path.
"""

import base64
import hashlib
import hmac
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

JWKS_URL = os.environ["JWKS_URL"]
ISSUER = os.environ["ISSUER"]
CLAIMS = ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "org", "env",
          "current_env", "root_env", "trigger_user", "body_hash"]

jwks_client = jwt.PyJWKClient(JWKS_URL)
seen_jti = set()
seen_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get_all("Content-Type") != ["application/json"]:
            return self.send_error(415, "expected one Content-Type: application/json")
        auth = self.headers.get_all("Authorization") or []
        if len(auth) != 1 or not auth[0].startswith("Bearer "):
            return self.send_error(401, "Missing or invalid Authorization header")
        token = auth[0][len("Bearer "):]
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256" or not header.get("kid"):
                raise jwt.InvalidTokenError("expected RS256 with a kid")
            signing_key = jwks_client.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                audience=f"http://127.0.0.1:{self.server.server_address[1]}{self.path}",
                issuer=ISSUER,
                options={"require": CLAIMS, "verify_exp": True, "verify_nbf": True,
                         "verify_iat": True},
            )
        except jwt.InvalidTokenError as e:
            return self.send_error(401, f"Invalid token: {e}")
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
        if not hmac.compare_digest(claims["body_hash"], "sha256-" + digest):
            return self.send_error(401, "Body hash mismatch")
        with seen_lock:
            if claims["jti"] in seen_jti:
                return self.send_error(401, "Replayed jti")
            seen_jti.add(claims["jti"])
        if claims["exp"] - claims["iat"] > 3600:
            return self.send_error(401, "Token lifetime too long")
        request = json.loads(body)
        if self.path == "/fetch-secrets":
            name = request.get("secretName")
            value = os.environ.get(name or "")
            if value is None:
                return self.send_error(404, f"Secret not found: {name}")
            public = {k: claims[k] for k in CLAIMS if k not in ("jti", "body_hash")}
            return self.reply({"value": value, "claims": public})
        if self.path == "/rotate-credentials":
            state = request.get("state")
            service = request.get("request", {}).get("service")
            if not service:
                return self.send_error(400, "Missing required field: service")
            n = 1 if state is None else state["n"] + 1
            return self.reply({"apiKey": f"{service}-key-{n}", "n": n, "sawState": state})
        if self.path == "/unavailable":
            return self.send_error(503, "backend down, try later")
        return self.send_error(404, "no such route")

    def reply(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "0"))), Handler)
    print("listening on", server.server_address[1], flush=True)
    server.serve_forever()

//! SDK for ESC Connect adapters: verify the request JWT (JWKS, RS256, aud, iss, exp, body hash, replay).

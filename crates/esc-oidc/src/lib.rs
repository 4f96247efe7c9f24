//! Signing keys and their rotation, JWT minting with ESC Connect claims, JWKS and OpenID discovery documents.

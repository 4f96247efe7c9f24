//! Integration tests of the service layer.

//! Unit tests of the interpolation grammar.

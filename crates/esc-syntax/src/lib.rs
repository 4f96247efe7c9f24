//! YAML text to a positioned tree, the `${...}` interpolation and property-path grammar, and diagnostics with ranges.

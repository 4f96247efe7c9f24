//! Evaluation of ESC environments: imports, merge, builtins, secrets and unknowns, schemas; check, eval and rotate modes.

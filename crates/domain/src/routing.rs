//! The routing tree, with Alertmanager's semantics.

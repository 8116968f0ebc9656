//! Configuration: Staunch's own `staunch.yaml` and the `route:` tree of Alertmanager configs.
//!
//! Parsing lives here, in the shell, so the domain crate stays free of YAML. Every loader
//! returns domain types that have already been checked (parse, don't validate).

pub mod alertmanager;

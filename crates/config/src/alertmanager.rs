//! The `route:` tree of an Alertmanager configuration file, read into domain routes.

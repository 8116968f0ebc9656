//! Alert-noise triage in the server: the trained models, a cache rebuilt from the database.
//!
//! - `models` — `NoiseModels`, one trained `NoiseTriage` per organisation, shared with the
//!   engine (which scores each new alert with it) and the API (which shows its state).
//! - `worker` — rebuilds every organisation's model on start and every
//!   `settings.noise_retrain`. Every process rebuilds its own copy, leader or not: each
//!   replica's engine scores the alerts it takes in, and the copy is derived only from the
//!   database, so replicas stay stateless and agree once they have read the same rows.

mod models;
mod worker;

pub use models::{HISTORY_WINDOW, NoiseModels, features_of};
pub use worker::NoiseWorker;

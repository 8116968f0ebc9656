//! Offline evaluation of the investigation engine on recorded fault-injection data. This crate
//! owns the reading (files, gzip, CSV, the quirks of each data set); every score is computed
//! by the pure `staunch-investigate`, which never sees a path.

pub mod nezha;

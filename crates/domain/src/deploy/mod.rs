//! Deploys and what follows them: which deploy an incident is linked to (`link`), and when a
//! release pipeline's failures page (`pipeline`). What counts as a deploy is decided once, in
//! `crate::report::deploys`; both read it from there.

pub mod link;
pub mod pipeline;

#[cfg(test)]
mod tests;

//! The upload callback: what binds it to an upload (tickets).

pub mod ticket;

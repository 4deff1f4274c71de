//! Outputs: CSV (SPEC §7), JSON and readable tables.

pub mod csv_out;
pub mod json;
pub mod table;

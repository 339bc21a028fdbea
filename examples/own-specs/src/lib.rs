//! Token clients generated from this crate's own specs by its build script.
#![deny(warnings, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/tokenspec_providers.rs"));

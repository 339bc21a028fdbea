//! Any text as a JWT: its `exp` claim or a clear error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Ok(exp) = tokenspec::jwt_exp(data) {
        assert!(exp.is_finite(), "jwt_exp returned a non-finite exp");
    }
});

//! Fuzz target `control_line`: the control-plane line parser gives a line or an error (src/fuzz.rs).
//!
//! Takes: bytes from libFuzzer, read as UTF-8 (lossily).
//! Gives: a panic when the property breaks; libFuzzer keeps the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(why) = iov::fuzz::control_line(&text) {
        panic!("{why}");
    }
});

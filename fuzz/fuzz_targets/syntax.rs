//! Fuzz target `syntax`: the formatter keeps tokens and is idempotent on whatever parses (src/fuzz.rs).
//!
//! Takes: bytes from libFuzzer, read as UTF-8 (lossily).
//! Gives: a panic when the property breaks; libFuzzer keeps the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(why) = iov::fuzz::syntax(&text) {
        panic!("{why}");
    }
});

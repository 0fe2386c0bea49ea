//! Fuzz target `check`: the checker never panics and its diagnostics are well formed; the formatter's properties hold (src/fuzz.rs).
//!
//! Takes: bytes from libFuzzer, read as UTF-8 (lossily).
//! Gives: a panic when the property breaks; libFuzzer keeps the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    // The checker recurses over expressions: a deep stack, as `iov check` gives it.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            if let Err(why) = iov::fuzz::check("fuzz.iov", &text) {
                panic!("{why}");
            }
        })
        .expect("a thread")
        .join()
        .expect("the check holds");
});

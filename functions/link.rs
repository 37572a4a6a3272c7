//! The build script of every function (each manifest's `build = "../link.rs"`): the function's
//! binary is linked as a position-dependent executable (`-no-pie`).
//!
//! Why: in a position-independent executable the dynamic loader must, before `main`, write the
//! load address into every pointer of the binary's read-only-after-start data (vtables, string
//! tables, the SDK's static tables): 54,724 relocations over 1.4 MB of `.data.rel.ro` in
//! spreadsheet-export, each page copied on its first write. That was most of the difference
//! between a function's start-up and a hello-world's (spreadsheet-export 4.4 ms against 2.6 ms
//! linked this way, the hello-world 1.7 ms), and the 1.3 MB relocation table leaves the binary.
//!
//! The price: the executable's own code and data load at a fixed address (the stack, the heap
//! and the shared libraries are still placed at random). Only the functions' binaries, and the
//! cold-start benchmark's hello-world (`tests/hello-lambda`, built exactly as they are), are
//! linked this way (`rustc-link-arg-bins`); tests and tools keep the default.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

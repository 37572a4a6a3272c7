//! Embeds every manifest under `providers/` (one `<key>.toml` per provider): adding a provider
//! adds a file, not a line of Rust.

use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("providers");
    println!("cargo:rerun-if-changed=providers");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("shared/connectors/providers/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// Every manifest, by file name, embedded at build time.\npub(crate) const MANIFESTS: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).expect("a UTF-8 file name");
        out.push_str(&format!("    ({name:?}, include_str!({:?})),\n", f.display().to_string()));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("manifests.rs");
    fs::write(dest, out).expect("OUT_DIR is writable");
}

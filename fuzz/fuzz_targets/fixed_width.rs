#![no_main]
//! Any text through the legacy registration layout's fixed-width reader.
use std::path::Path;
use std::sync::OnceLock;

use carelab::formats::legacy::Layout;
use libfuzzer_sys::fuzz_target;

fn layout() -> &'static Layout {
    static LAYOUT: OnceLock<Layout> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        let text = include_str!("../../src/synth/legacy_registration.layout.toml");
        Layout::parse(Path::new("registration.layout.toml"), text).expect("the built-in layout")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = layout().read_text("fuzz.txt", &text);
});

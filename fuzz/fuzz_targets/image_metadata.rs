//! Stripping an uploaded image's metadata (`uploads::metadata::strip`): it
//! walks untrusted JPEG, PNG, WebP and GIF bytes. It must never panic, never
//! grow a file by more than the orientation block it may add, and a second
//! pass finds nothing more to remove.
#![no_main]

use chat_server::uploads::metadata::strip;
use chat_server::uploads::ImageKind;
use libfuzzer_sys::fuzz_target;

/// The largest block an orientation can add (a JPEG APP1 segment with its
/// header, 36 bytes; the PNG and WebP ones are smaller).
const ORIENTATION_BLOCK: usize = 36;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the format, so that every walker sees every input;
    // the seeds are real files behind their format's byte.
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let kind = match pick % 4 {
        0 => ImageKind::Jpeg,
        1 => ImageKind::Png,
        2 => ImageKind::Webp,
        _ => ImageKind::Gif,
    };
    if let Some(out) = strip(kind, bytes) {
        assert_ne!(out, bytes, "an answer is a change");
        assert!(out.len() <= bytes.len() + ORIENTATION_BLOCK, "{} -> {}", bytes.len(), out.len());
        assert_eq!(strip(kind, &out), None, "a second pass removes nothing more");
    }
});

//! The checks of upload bytes and names: `ImageKind::sniff` (is this an
//! image the server stores?), `is_upload_name` (could the server have issued
//! this name? — it guards `GET /uploads/<name>`) and `upload_name` (the file
//! an image message's URL names).
#![no_main]

use chat_domain::storage::upload_name;
use chat_server::uploads::{is_upload_name, ImageKind, URL_PREFIX};
use libfuzzer_sys::fuzz_target;

const SIGNATURES: [(&[u8], ImageKind); 5] = [
    (b"\x89PNG\r\n\x1a\n", ImageKind::Png),
    (&[0xFF, 0xD8, 0xFF], ImageKind::Jpeg),
    (b"GIF87a", ImageKind::Gif),
    (b"GIF89a", ImageKind::Gif),
    (b"RIFF", ImageKind::Webp),
];

fuzz_target!(|data: &[u8]| {
    let kind = ImageKind::sniff(data);
    // A kind is only ever named for bytes that begin with its signature.
    match kind {
        Some(ImageKind::Webp) => {
            assert!(data.len() >= 12 && data.starts_with(b"RIFF") && &data[8..12] == b"WEBP")
        }
        Some(k) => assert!(SIGNATURES
            .iter()
            .any(|(sig, kind)| *kind == k && data.starts_with(sig))),
        None => {}
    }
    // Only the head counts: more bytes after the first 12 never change the kind.
    if data.len() >= 12 {
        assert_eq!(ImageKind::sniff(&data[..12]), kind);
    }
    if let Some(k) = kind {
        let ext = k.extension();
        assert!(is_upload_name(&format!("0123abcd.{ext}")));
    }

    let name = String::from_utf8_lossy(data);
    if is_upload_name(&name) {
        assert!(!name.is_empty());
        assert!(name.len() <= 255, "a {}-byte name is safe", name.len());
        assert!(!name.contains('/'), "{name:?} is safe");
        assert!(!name.contains('\\'), "{name:?} is safe");
        // "a..png" is a plain name and is safe; ".." as a path component is not.
        assert!(name != "..", "{name:?} is safe");
        assert!(!name.starts_with('.'), "{name:?} is safe");
        assert!(!name.contains('\0'), "{name:?} is safe");
        // Exactly one plain path component: joining it stays in the folder.
        let mut parts = std::path::Path::new(&*name).components();
        assert!(
            matches!(parts.next(), Some(std::path::Component::Normal(p)) if p == &*name),
            "{name:?} is not one plain component"
        );
        assert!(
            parts.next().is_none(),
            "{name:?} has more than one component"
        );
        let joined = std::path::Path::new("/srv/uploads").join(&*name);
        assert_eq!(joined.parent(), Some(std::path::Path::new("/srv/uploads")));
    }

    // An image message's URL names a file only as `/uploads/<upload name>`.
    if let Some(file) = upload_name(&name) {
        assert!(is_upload_name(file), "{name:?} names {file:?}");
        assert_eq!(format!("{URL_PREFIX}{file}"), name);
    }
    let url = format!("{URL_PREFIX}{name}");
    assert_eq!(upload_name(&url), is_upload_name(&name).then_some(&*name));
});

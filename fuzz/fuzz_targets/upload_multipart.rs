//! `POST /api/upload`: a client's Content-Type header and multipart body →
//! `Uploads::store`, which streams the `file` field to disk and keeps it
//! only if its bytes are a PNG, JPEG, GIF or WebP.
//!
//! Input: `<chunking byte><Content-Type value>\n<body>`. The low 7 bits of
//! the chunking byte cut the body into chunks of that many bytes (0: one
//! chunk), as a network hands it over in pieces; its high bit stores into a
//! folder with a 64-byte limit instead of 5 MiB, so that the fuzzer reaches
//! "too large" half-way through a file. The rest of the first line is the
//! whole Content-Type header (so the boundary parsing is fuzzed too).
//!
//! Invariants: on Ok the stored file is the only file in the folder, has a
//! name the server could have issued, starts with an image signature that
//! matches its extension, and holds bytes that were in the body; on Err the
//! folder is empty (no `.part` file, no stored file).
#![no_main]

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use bytes::Bytes;
use chat_server::uploads::{is_upload_name, ImageKind, Uploads};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

const MAX_BYTES: u64 = 5 * 1024 * 1024;
const SMALL_MAX_BYTES: u64 = 64;

struct Fixture {
    runtime: Runtime,
    uploads: Uploads,
    small: Uploads,
}

/// The temp folder of this process, removed when libFuzzer exits (statics
/// are never dropped; a crash leaves it behind, to look at).
static TEMP: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_temp() {
    if let Some(dir) = TEMP.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("chat-fuzz-uploads.")
            .tempdir()
            .expect("temp dir")
            .keep();
        let dir = TEMP.get_or_init(|| dir);
        // SAFETY: registers a plain function with no captured state.
        unsafe { libc::atexit(remove_temp) };
        let uploads = Uploads::new(dir.join("uploads"), MAX_BYTES).expect("upload dir");
        let small = Uploads::new(dir.join("small"), SMALL_MAX_BYTES).expect("upload dir");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime");
        Fixture {
            runtime,
            uploads,
            small,
        }
    })
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read upload dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunking, rest)) = data.split_first() else {
        return;
    };
    let (head, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    // A header value is visible ASCII (`HeaderValue::to_str`), else the
    // server sees no Content-Type at all.
    let content_type = std::str::from_utf8(head)
        .ok()
        .filter(|s| s.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)))
        .unwrap_or("");
    let fx = fixture();
    let (uploads, limit) = if chunking & 0x80 == 0 {
        (&fx.uploads, MAX_BYTES)
    } else {
        (&fx.small, SMALL_MAX_BYTES)
    };
    let chunking = chunking & 0x7f;
    let chunks: Vec<Result<Bytes, Infallible>> = if chunking == 0 || body.is_empty() {
        vec![Ok(Bytes::copy_from_slice(body))]
    } else {
        body.chunks(chunking as usize)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect()
    };
    let mut stream = Body::from_stream(futures_util::stream::iter(chunks)).into_data_stream();

    let dir = uploads.dir();
    let result = fx
        .runtime
        .block_on(uploads.store(content_type, &mut stream));
    let left = entries(dir);
    if std::env::var_os("CHAT_FUZZ_VERBOSE").is_some() {
        eprintln!(
            "store({content_type:?}) = {:?}; folder: {left:?}",
            result.as_ref().map(|f| &f.name).map_err(|e| e.to_string())
        );
    }
    assert!(
        !left.iter().any(|n| n.ends_with(".part")),
        "a .part file is left: {left:?} (result ok: {})",
        result.is_ok()
    );
    match result {
        Ok(file) => {
            let name = file.name;
            assert_eq!(left, [name.clone()], "stored {name:?}, folder has {left:?}");
            assert!(is_upload_name(&name), "unsafe stored name {name:?}");
            let path = dir.join(&name);
            let meta = std::fs::metadata(&path).expect("the stored file exists");
            assert!(meta.is_file());
            let stored = std::fs::read(&path).expect("read the stored file");
            let kind = ImageKind::sniff(&stored).unwrap_or_else(|| {
                panic!("stored a non-image: {:?}", &stored[..stored.len().min(16)])
            });
            assert!(
                name.ends_with(&format!(".{}", kind.extension())),
                "{name:?} holds a {kind:?}"
            );
            assert!(
                stored.len() as u64 <= limit,
                "stored {} bytes",
                stored.len()
            );
            assert_eq!(stored.len() as u64, file.bytes, "the size it reports");
            // Stored as sent, or edited to drop its metadata (§6.10): then
            // nothing more is left to drop.
            assert!(
                contains(body, &stored)
                    || chat_server::uploads::metadata::strip(kind, &stored).is_none(),
                "stored bytes that were not in the body"
            );
            std::fs::remove_file(&path).expect("remove the stored file");
        }
        Err(_) => assert!(left.is_empty(), "an error left files: {left:?}"),
    }
});

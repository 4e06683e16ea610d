//! PROTOCOL.md §6.10: images keep no hidden data. A photo with a GPS
//! position, XMP, IPTC and a comment is served without them, with the same
//! pixels, its colour profile and its Orientation; a file without metadata
//! and one that cannot be walked are served byte for byte. Each format is
//! built with the `image` crate, metadata is added as cameras and editors
//! write it, and the result is decoded again.

#[macro_use]
mod common;

use std::io::Cursor;

use chat_server::uploads::metadata::strip;
use chat_server::uploads::ImageKind;
use common::*;
use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use reqwest::StatusCode;

const XMP: &[u8] = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF/>where: Paris</x:xmpmeta>";
const COMMENT: &[u8] = b"taken at home, 12 rue Example";
const ICC: &[u8] = b"\0\0\0\x30fake colour profile kept byte for byte...";

/// EXIF as a phone writes it: where (GPS), with what, and the Orientation.
fn phone_exif(orientation: u16) -> Vec<u8> {
    let fields = [
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation]),
        },
        Field {
            tag: Tag::Model,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"Phone 15".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational { num: 48, denom: 1 },
                Rational { num: 51, denom: 1 },
                Rational {
                    num: 2_400,
                    denom: 100,
                },
            ]),
        },
    ];
    let mut w = Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    w.write(&mut out, false).expect("write EXIF");
    out.into_inner()
}

/// What EXIF a file still carries: (Orientation, has a GPS position, has a model).
fn exif_of(tiff: &[u8]) -> (Option<u32>, bool, bool) {
    let tiff = tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff);
    let exif = exif::Reader::new()
        .read_raw(tiff.to_vec())
        .expect("EXIF parses");
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0));
    let gps = exif.get_field(Tag::GPSLatitude, In::PRIMARY).is_some();
    let model = exif.get_field(Tag::Model, In::PRIMARY).is_some();
    (orientation, gps, model)
}

fn picture() -> image::RgbImage {
    image::RgbImage::from_fn(24, 16, |x, y| {
        image::Rgb([(x * 10) as u8, (y * 15) as u8, ((x + y) * 5) as u8])
    })
}

fn encode(format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(picture())
        .write_to(&mut out, format)
        .expect("encode");
    out.into_inner()
}

fn pixels(bytes: &[u8]) -> image::RgbaImage {
    image::load_from_memory(bytes).expect("decodes").to_rgba8()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// A camera JPEG: JFIF, EXIF with GPS, XMP, IPTC, an ICC profile, a comment,
/// and padding after the end.
fn camera_jpeg(orientation: u16) -> Vec<u8> {
    let plain = encode(image::ImageFormat::Jpeg);
    // After SOI and the encoder's APP0.
    let app0_len = u16::from_be_bytes([plain[4], plain[5]]) as usize;
    let split = 4 + app0_len;
    let mut b = plain[..split].to_vec();
    b.extend(jpeg_segment(
        0xE1,
        &[b"Exif\0\0".as_slice(), &phone_exif(orientation)].concat(),
    ));
    b.extend(jpeg_segment(
        0xE1,
        &[b"http://ns.adobe.com/xap/1.0/\0".as_slice(), XMP].concat(),
    ));
    b.extend(jpeg_segment(
        0xE2,
        &[b"ICC_PROFILE\0\x01\x01".as_slice(), ICC].concat(),
    ));
    b.extend(jpeg_segment(
        0xED,
        b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x0a\x1c\x02\x5a\0\x05Paris",
    ));
    b.extend(jpeg_segment(0xFE, COMMENT));
    b.extend_from_slice(&plain[split..]);
    b.extend_from_slice(&[0u8; 100]);
    b
}

#[test]
fn a_jpeg_photo_loses_where_it_was_taken_and_keeps_pixels_profile_orientation_and_padding() {
    let original = camera_jpeg(6);
    let out = strip(ImageKind::Jpeg, &original).expect("metadata removed");
    assert_eq!(pixels(&out), pixels(&original));
    for gone in [XMP, COMMENT, b"Paris".as_slice(), b"Phone 15".as_slice()] {
        assert!(
            !contains(&out, gone),
            "{:?} is gone",
            String::from_utf8_lossy(gone)
        );
    }
    assert!(contains(&out, ICC), "the colour profile is kept");
    assert!(out.ends_with(&[0u8; 100]), "the padding is kept");
    let app1 = out
        .windows(8)
        .position(|w| w[..2] == [0xFF, 0xE1] && &w[4..] == b"Exif")
        .expect("an orientation block");
    assert_eq!(exif_of(&out[app1 + 4..]), (Some(6), false, false));
    // An Orientation of 1 (the default) leaves no EXIF at all.
    let upright = strip(ImageKind::Jpeg, &camera_jpeg(1)).unwrap();
    assert!(!contains(&upright, b"Exif\0\0"));
    // Stripping again changes nothing.
    assert_eq!(strip(ImageKind::Jpeg, &out), None);
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    c.extend_from_slice(&crc.finalize().to_be_bytes());
    c
}

#[test]
fn a_png_loses_its_text_and_exif_and_keeps_the_rest() {
    let plain = encode(image::ImageFormat::Png);
    let idat = plain.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
    let phys = png_chunk(b"pHYs", &[0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1]);
    let mut original = plain[..idat].to_vec();
    original.extend(png_chunk(
        b"tEXt",
        &[b"Comment\0".as_slice(), COMMENT].concat(),
    ));
    original.extend(png_chunk(
        b"iTXt",
        &[b"XML:com.adobe.xmp\0\0\0\0\0".as_slice(), XMP].concat(),
    ));
    original.extend(png_chunk(b"eXIf", &phone_exif(3)));
    original.extend(&phys);
    original.extend_from_slice(&plain[idat..]);
    original.extend_from_slice(b"padding after IEND");
    let out = strip(ImageKind::Png, &original).expect("metadata removed");
    assert_eq!(pixels(&out), pixels(&original));
    assert!(
        !contains(&out, COMMENT)
            && !contains(&out, XMP)
            && !contains(&out, b"tEXt")
            && !contains(&out, b"iTXt")
    );
    assert!(contains(&out, &phys), "other chunks byte for byte");
    assert!(out.ends_with(b"padding after IEND"));
    let exif = out
        .windows(4)
        .position(|w| w == b"eXIf")
        .expect("the orientation is kept");
    let len = u32::from_be_bytes(out[exif - 4..exif].try_into().unwrap()) as usize;
    assert_eq!(
        exif_of(&out[exif + 4..exif + 4 + len]),
        (Some(3), false, false)
    );
    assert_eq!(strip(ImageKind::Png, &out), None);
    assert_eq!(
        strip(ImageKind::Png, &plain),
        None,
        "nothing to remove: stored as uploaded"
    );
}

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = kind.to_vec();
    c.extend_from_slice(&(data.len() as u32).to_le_bytes());
    c.extend_from_slice(data);
    if data.len() % 2 == 1 {
        c.push(0);
    }
    c
}

#[test]
fn a_webp_loses_exif_and_xmp_and_its_flags_say_so() {
    let simple = encode(image::ImageFormat::WebP);
    let image_chunk = &simple[12..];
    let (w, h) = (24u32 - 1, 16u32 - 1);
    let mut vp8x = vec![0x20 | 0x08 | 0x04, 0, 0, 0];
    vp8x.extend_from_slice(&w.to_le_bytes()[..3]);
    vp8x.extend_from_slice(&h.to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(riff_chunk(b"VP8X", &vp8x));
    body.extend(riff_chunk(b"ICCP", ICC));
    body.extend_from_slice(image_chunk);
    body.extend(riff_chunk(b"EXIF", &phone_exif(8)));
    body.extend(riff_chunk(b"XMP ", XMP));
    let mut original = b"RIFF".to_vec();
    original.extend_from_slice(&(body.len() as u32).to_le_bytes());
    original.extend(body);
    original.extend_from_slice(b"trailing");
    let out = strip(ImageKind::Webp, &original).expect("metadata removed");
    assert_eq!(pixels(&out), pixels(&original));
    assert!(!contains(&out, XMP) && !contains(&out, b"Phone 15"));
    assert!(contains(&out, ICC));
    assert_eq!(out[20], 0x20 | 0x08, "ICC and EXIF flags, no XMP flag");
    let riff = u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize;
    assert_eq!(&out[8 + riff..], b"trailing");
    let exif = out.windows(4).position(|w| w == b"EXIF").unwrap();
    let len = u32::from_le_bytes(out[exif + 4..exif + 8].try_into().unwrap()) as usize;
    assert_eq!(
        exif_of(&out[exif + 8..exif + 8 + len]),
        (Some(8), false, false)
    );
    assert_eq!(strip(ImageKind::Webp, &out), None);
}

#[test]
fn a_gif_loses_its_comments_and_xmp_and_keeps_its_frames() {
    let plain = encode(image::ImageFormat::Gif);
    let gct = if plain[10] & 0x80 != 0 {
        3 << ((plain[10] & 7) + 1)
    } else {
        0
    };
    let at = 13 + gct;
    let mut original = plain[..at].to_vec();
    original.extend_from_slice(&[0x21, 0xFE, COMMENT.len() as u8]);
    original.extend_from_slice(COMMENT);
    original.push(0);
    original.extend_from_slice(b"\x21\xff\x0bXMP DataXMP");
    original.push(XMP.len() as u8);
    original.extend_from_slice(XMP);
    original.push(0);
    original.extend_from_slice(&plain[at..]);
    let out = strip(ImageKind::Gif, &original).expect("metadata removed");
    assert_eq!(out, plain, "exactly the file without the two extensions");
    assert_eq!(pixels(&out), pixels(&original));
    assert_eq!(strip(ImageKind::Gif, &plain), None);
}

on_both_backends! {
    /// Through `POST /api/upload`: the photo with a GPS position is served
    /// without it, with its pixels and orientation; a file that cannot be
    /// walked is served exactly as uploaded.
    async fn uploads_are_served_without_their_metadata(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let photo = camera_jpeg(6);
        let r = alice.upload("file", "IMG_0001.jpg", "image/jpeg", photo.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let url = r.json["url"].as_str().unwrap().to_owned();
        let served = alice.http.get(server.url(&url)).send().await.unwrap().bytes().await.unwrap().to_vec();
        assert_eq!(served, strip(ImageKind::Jpeg, &photo).unwrap());
        assert!(!contains(&served, b"Phone 15") && !contains(&served, COMMENT));
        assert_eq!(pixels(&served), pixels(&photo));

        // A JPEG whose comment runs past its end: kept as it came.
        let broken = b"\xff\xd8\xff\xfe\x40\x00taken at home".to_vec();
        let r = alice.upload("file", "b.jpg", "image/jpeg", broken.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let url = r.json["url"].as_str().unwrap().to_owned();
        let served = alice.http.get(server.url(&url)).send().await.unwrap().bytes().await.unwrap().to_vec();
        assert_eq!(served, broken);
    }
}

//! Images keep no hidden data (PROTOCOL.md §6.10): an uploaded JPEG, PNG,
//! WebP or GIF is edited, never re-encoded. What says where, when or with
//! what a photo was taken goes (EXIF with its GPS position, XMP, IPTC,
//! comments, text chunks); the pixels, the colour profile and everything
//! else stay byte for byte, bytes after the image's end included. An
//! Orientation other than 1 is kept, as an EXIF block that holds only it.
//! A file that cannot be walked to its end is kept as it came.
//!
//! Each walker reads untrusted bytes with checked offsets only (fuzzed by
//! `fuzz/fuzz_targets/image_metadata.rs`).

use super::ImageKind;

/// The file without its metadata, or None when it has none (or cannot be
/// walked): then it is stored as uploaded.
pub fn strip(kind: ImageKind, bytes: &[u8]) -> Option<Vec<u8>> {
    let out = match kind {
        ImageKind::Jpeg => jpeg(bytes),
        ImageKind::Png => png(bytes),
        ImageKind::Webp => webp(bytes),
        ImageKind::Gif => gif(bytes),
    }?;
    // A file that held only an orientation block comes out as it went in.
    (out != bytes).then_some(out)
}

/// The Orientation (2 to 8) of a TIFF-structured EXIF block, if it says
/// anything but the default 1.
fn orientation(tiff: &[u8]) -> Option<u16> {
    let tiff = tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff);
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
    let field = exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    let value = u16::try_from(field.value.get_uint(0)?).ok()?;
    (2..=8).contains(&value).then_some(value)
}

/// A big-endian TIFF block with one IFD holding only the Orientation.
fn orientation_tiff(value: u16) -> Vec<u8> {
    let mut t = Vec::with_capacity(26);
    t.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // header, IFD0 at 8
    t.extend_from_slice(&1u16.to_be_bytes()); // one entry
    t.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    t.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    t.extend_from_slice(&1u32.to_be_bytes()); // count
    t.extend_from_slice(&value.to_be_bytes());
    t.extend_from_slice(&[0, 0]); // the value field's padding
    t.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    t
}

fn u16_be(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_be_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?) as usize)
}

fn u32_be(b: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
    .ok()
}

fn u32_le(b: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
    .ok()
}

// ---------------------------------------------------------------- JPEG --

const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1; // EXIF, XMP
const APP13: u8 = 0xED; // Photoshop IRB: IPTC
const COM: u8 = 0xFE;
const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;

/// Segments up to the first scan; from the scan on, everything is copied.
fn jpeg(b: &[u8]) -> Option<Vec<u8>> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut pos = 2;
    let mut dropped = false;
    let mut turn = None;
    // Where the orientation block goes: after a leading JFIF APP0, else
    // right after SOI.
    let mut insert_at = 2;
    let mut first = true;
    loop {
        let start = pos;
        // Fill bytes (0xFF) may precede a marker.
        while *b.get(pos)? == 0xFF && *b.get(pos + 1)? == 0xFF {
            pos += 1;
        }
        if *b.get(pos)? != 0xFF {
            return None;
        }
        let marker = *b.get(pos + 1)?;
        if marker == SOS || marker == EOI {
            out.extend_from_slice(&b[start..]);
            break;
        }
        let standalone = matches!(marker, 0x01 | 0xD0..=0xD7);
        let end = if standalone {
            pos + 2
        } else {
            let len = u16_be(b, pos + 2)?;
            if len < 2 {
                return None;
            }
            pos.checked_add(2 + len).filter(|&e| e <= b.len())?
        };
        let payload = &b[(pos + 4).min(end)..end];
        match marker {
            APP1 => {
                if payload.starts_with(b"Exif\0\0") {
                    turn = turn.or_else(|| orientation(payload));
                }
                dropped = true;
            }
            APP13 | COM => dropped = true,
            _ => {
                out.extend_from_slice(&b[start..end]);
                if first && marker == APP0 {
                    insert_at = out.len();
                }
            }
        }
        first = false;
        pos = end;
    }
    if !dropped {
        return None;
    }
    if let Some(value) = turn {
        let tiff = orientation_tiff(value);
        let mut segment = vec![0xFF, APP1];
        segment.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
        segment.extend_from_slice(b"Exif\0\0");
        segment.extend_from_slice(&tiff);
        out.splice(insert_at..insert_at, segment);
    }
    Some(out)
}

// ----------------------------------------------------------------- PNG --

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(12 + data.len());
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    chunk.extend_from_slice(&crc.finalize().to_be_bytes());
    chunk
}

/// Chunks up to IEND; what follows it is copied.
fn png(b: &[u8]) -> Option<Vec<u8>> {
    if !b.starts_with(PNG_SIGNATURE) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut pos = PNG_SIGNATURE.len();
    let mut dropped = false;
    loop {
        let len = u32_be(b, pos)?;
        let kind = b.get(pos + 4..pos + 8)?;
        let end = pos
            .checked_add(12)?
            .checked_add(len)
            .filter(|&e| e <= b.len())?;
        let data = &b[pos + 8..pos + 8 + len];
        match kind {
            b"tEXt" | b"zTXt" | b"iTXt" => dropped = true,
            b"eXIf" => {
                dropped = true;
                if let Some(value) = orientation(data) {
                    out.extend_from_slice(&png_chunk(b"eXIf", &orientation_tiff(value)));
                }
            }
            _ => out.extend_from_slice(&b[pos..end]),
        }
        pos = end;
        if kind == b"IEND" {
            out.extend_from_slice(&b[pos..]);
            break;
        }
    }
    dropped.then_some(out)
}

// ---------------------------------------------------------------- WebP --

const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(9 + data.len());
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(&(data.len() as u32).to_le_bytes());
    chunk.extend_from_slice(data);
    if data.len() % 2 == 1 {
        chunk.push(0);
    }
    chunk
}

/// The chunks the RIFF size covers; what follows it is copied.
fn webp(b: &[u8]) -> Option<Vec<u8>> {
    if b.len() < 12 || &b[..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return None;
    }
    let riff_end = u32_le(b, 4)?.checked_add(8).filter(|&e| e <= b.len())?;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut vp8x = None;
    let mut turn = None;
    let mut dropped = false;
    let mut pos = 12;
    while pos < riff_end {
        let kind: [u8; 4] = b.get(pos..pos + 4)?.try_into().ok()?;
        let len = u32_le(b, pos + 4)?;
        let data_end = pos
            .checked_add(8)?
            .checked_add(len)
            .filter(|&e| e <= riff_end)?;
        let end = (data_end + len % 2).min(riff_end);
        let data = &b[pos + 8..data_end];
        match &kind {
            b"EXIF" => {
                turn = turn.or_else(|| orientation(data));
                dropped = true;
            }
            b"XMP " => dropped = true,
            b"VP8X" => {
                if data.is_empty() {
                    return None;
                }
                vp8x = Some(chunks.len());
                chunks.push(b[pos..end].to_vec());
            }
            _ => chunks.push(b[pos..end].to_vec()),
        }
        pos = end;
    }
    if !dropped {
        return None;
    }
    if let Some(i) = vp8x {
        // The flags byte follows the chunk's 8-byte header.
        let flags = &mut chunks[i][8];
        *flags &= !(VP8X_EXIF | VP8X_XMP);
        if turn.is_some() {
            *flags |= VP8X_EXIF;
        }
    }
    if let (Some(value), Some(_)) = (turn, vp8x) {
        // EXIF follows the image data (the container's order).
        chunks.push(riff_chunk(b"EXIF", &orientation_tiff(value)));
    }
    let body: usize = chunks.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(12 + body + (b.len() - riff_end));
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&u32::try_from(4 + body).ok()?.to_le_bytes());
    out.extend_from_slice(b"WEBP");
    for chunk in &chunks {
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&b[riff_end..]);
    Some(out)
}

// ----------------------------------------------------------------- GIF --

/// The end of the data sub-blocks that start at `pos` (after their 0 block).
fn gif_sub_blocks(b: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let n = *b.get(pos)? as usize;
        pos = pos.checked_add(1 + n)?;
        if n == 0 {
            return (pos <= b.len()).then_some(pos);
        }
    }
}

/// The bytes of a colour table announced by a packed field.
fn gif_color_table(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

/// Blocks up to the trailer; what follows it is copied.
fn gif(b: &[u8]) -> Option<Vec<u8>> {
    let mut pos = 13usize.checked_add(gif_color_table(*b.get(10)?))?;
    if pos > b.len() {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..pos]);
    let mut dropped = false;
    loop {
        let start = pos;
        match *b.get(pos)? {
            0x21 => {
                let label = *b.get(pos + 1)?;
                let end = gif_sub_blocks(b, pos + 2)?;
                let comment = label == 0xFE;
                let xmp = label == 0xFF && b.get(pos + 2..pos + 14) == Some(b"\x0bXMP DataXMP");
                if comment || xmp {
                    dropped = true;
                } else {
                    out.extend_from_slice(&b[start..end]);
                }
                pos = end;
            }
            0x2C => {
                let table = gif_color_table(*b.get(pos + 9)?);
                // Descriptor (10), colour table, LZW minimum code size (1).
                let data = pos.checked_add(10 + table + 1)?;
                let end = gif_sub_blocks(b, data)?;
                out.extend_from_slice(&b[start..end]);
                pos = end;
            }
            0x3B => {
                out.extend_from_slice(&b[pos..]);
                break;
            }
            _ => return None,
        }
    }
    dropped.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_orientation_block_is_read_back() {
        for value in 2..=8 {
            assert_eq!(orientation(&orientation_tiff(value)), Some(value));
        }
        assert_eq!(orientation(&orientation_tiff(1)), None, "1 is the default");
        assert_eq!(orientation(b"MM\0*garbage"), None);
    }

    #[test]
    fn files_without_metadata_or_that_cannot_be_walked_are_left_alone() {
        let jpeg_without = [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x03, 0x00, 0xFF, 0xD9];
        assert_eq!(strip(ImageKind::Jpeg, &jpeg_without), None);
        // A segment longer than the file.
        assert_eq!(
            strip(ImageKind::Jpeg, &[0xFF, 0xD8, 0xFF, 0xFE, 0x40, 0x00, 1]),
            None
        );
        assert_eq!(
            strip(ImageKind::Png, b"\x89PNG\r\n\x1a\n\0\0\0\x05IHDR"),
            None
        );
        assert_eq!(
            strip(ImageKind::Webp, b"RIFF\xff\xff\xff\x7fWEBPVP8 "),
            None
        );
        assert_eq!(strip(ImageKind::Gif, b"GIF89a\x01\0\x01\0\x80\0\0"), None);
    }

    #[test]
    fn a_jpeg_loses_its_comment_and_keeps_the_rest_byte_for_byte() {
        let mut b = vec![0xFF, 0xD8];
        let app0 = [0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0];
        b.extend_from_slice(&app0);
        b.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x05, b'h', b'i', b'!']);
        let rest = [0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9, 0, 0, 0];
        b.extend_from_slice(&rest);
        let out = strip(ImageKind::Jpeg, &b).expect("a comment to remove");
        let mut expected = vec![0xFF, 0xD8];
        expected.extend_from_slice(&app0);
        expected.extend_from_slice(&rest);
        assert_eq!(out, expected);
    }
}

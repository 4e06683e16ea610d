//! Socket.IO frames from a client, through the parser the server uses
//! (socketioxide's common parser) the way socketioxide feeds it: text frames
//! to `decode_str`, binary frames to `decode_bin`, one `ParserState` per
//! socket; then, for each whole packet, what happens to it on the way to a
//! handler: `read_event` (or, for an escaped name, `decode_value::<String>`,
//! as the patched `Socket::recv_event` does), `decode_value` (the `TryData`
//! extractor of `send_message`), `parse_draft` for `send_message`,
//! `decode_value` of acks and `decode_default` of connect payloads. None of
//! it may panic.
//!
//! Input: frames separated by 0x1E (the record separator of Engine.IO's
//! polling payloads). A frame that starts with 0xFF is a binary frame (the
//! rest of its bytes); any other is a text frame (lossy UTF-8, as Engine.IO
//! only hands over valid text).
#![no_main]

use bytes::Bytes;
use chat_server::messages::parse_draft;
use libfuzzer_sys::fuzz_target;
use socketioxide_core::packet::{Packet, PacketData};
use socketioxide_core::parser::{Parse, ParseConfig, ParseError, ParserState};
use socketioxide_core::{Str, Value};
use socketioxide_parser_common::CommonParser;

const BINARY_FRAME: u8 = 0xFF;

fuzz_target!(|data: &[u8]| {
    let parser = CommonParser;
    // Small limits, so the fuzzer can reach them.
    let config = ParseConfig {
        max_incoming_binary_buf_size: 4096,
        max_incoming_binaries: 64,
        ..ParseConfig::default()
    };
    let state = ParserState::default();
    for frame in data.split(|&b| b == 0x1E) {
        let decoded = match frame.split_first() {
            Some((&BINARY_FRAME, bin)) => {
                parser.decode_bin(&config, &state, Bytes::copy_from_slice(bin))
            }
            _ => {
                let text = String::from_utf8_lossy(frame).into_owned();
                parser.decode_str(&config, &state, Str::from(text))
            }
        };
        match decoded {
            Ok(packet) => handle(parser, packet),
            Err(ParseError::NeedsMoreBinaryData) => {}
            // socketioxide closes the socket on any other parse error.
            Err(_) => return,
        }
    }
});

fn valid_str(s: &Str) {
    assert!(
        std::str::from_utf8(s.as_bytes()).is_ok(),
        "a Str that is not UTF-8: {s:?}"
    );
}

fn handle(parser: CommonParser, packet: Packet) {
    valid_str(&packet.ns);
    if let PacketData::Connect(Some(v))
    | PacketData::Event(v, _)
    | PacketData::EventAck(v, _)
    | PacketData::BinaryEvent(v, _)
    | PacketData::BinaryAck(v, _) = &packet.inner
    {
        let Value::Str(s, _) = v else {
            panic!("the common parser made a binary value: {v:?}");
        };
        valid_str(s);
    }
    match packet.inner {
        PacketData::Connect(auth) => {
            let _ = parser.decode_default::<serde_json::Value>(auth.as_ref());
        }
        PacketData::Event(value, _) | PacketData::BinaryEvent(value, _) => {
            // As the server's (patched, docs/PATCHES.md) `Socket::recv_event`:
            // the borrowed name, else the name decoded (an escaped name).
            let event = match parser.read_event(&value) {
                Ok(event) => event.to_owned(),
                Err(_) => match parser.decode_value::<String>(&mut value.clone(), false) {
                    Ok(event) => event,
                    Err(_) => return,
                },
            };
            // The `TryData<serde_json::Value>` of the handlers.
            let payload = parser.decode_value::<serde_json::Value>(&mut value.clone(), true);
            if event == "send_message" {
                let _ = parse_draft(payload.as_ref().ok());
            }
            // A tuple takes the parser's other path (every argument).
            let _ = parser
                .decode_value::<(serde_json::Value, serde_json::Value)>(&mut value.clone(), true);
            let _ = parser.decode_value::<Vec<serde_json::Value>>(&mut value.clone(), true);
        }
        PacketData::EventAck(value, _) | PacketData::BinaryAck(value, _) => {
            let _ = parser.decode_value::<serde_json::Value>(&mut value.clone(), false);
            let _ = parser.decode_value::<(serde_json::Value,)>(&mut value.clone(), false);
        }
        PacketData::Disconnect | PacketData::ConnectError(_) => {}
    }
}

//! A `send_message` payload from a client: untrusted bytes → JSON →
//! `parse_draft`, the shape checks of PROTOCOL.md §4.
//!
//! The input is read twice: as a whole JSON document (any shape), and, when it
//! is UTF-8, as the `content` string of an otherwise well-formed payload (so
//! the fuzzer reaches the trimming, NUL and length checks without having to
//! invent JSON syntax first).
#![no_main]

use chat_domain::MessageType;
use chat_server::messages::{parse_draft, MAX_CONTENT_CHARS};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        check(&value);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check(&json!({ "content": text }));
        // The first line as the type, the rest as the content.
        let (kind, content) = text.split_once('\n').unwrap_or(("text", text));
        check(&json!({ "content": content, "message_type": kind }));
    }
    // No payload at all (an event without arguments) is refused.
    assert!(parse_draft(None).is_err());
});

fn check(payload: &Value) {
    let Ok(draft) = parse_draft(Some(payload)) else {
        return;
    };
    let content = &draft.content;
    assert!(!content.is_empty(), "empty content accepted");
    assert_eq!(content.trim(), content, "content not trimmed");
    assert!(!content.contains('\0'), "NUL accepted");
    assert!(
        content.chars().count() <= MAX_CONTENT_CHARS,
        "{} chars accepted",
        content.chars().count()
    );
    // What was accepted is what was sent, trimmed, with the type it named.
    let obj = payload.as_object().expect("a non-object payload accepted");
    let sent = obj["content"]
        .as_str()
        .expect("a non-string content accepted");
    assert_eq!(sent.trim(), content);
    let expected = match obj.get("message_type") {
        None => MessageType::Text,
        Some(v) => v
            .as_str()
            .and_then(MessageType::parse)
            .expect("an invalid message_type accepted"),
    };
    assert_eq!(draft.message_type, expected);
}

//! The text frames of Engine.IO v4 and Socket.IO v5, read without copying.
//!
//! Engine.IO: `0{...}` open, `1` close, `2`/`3` ping/pong, `4` + a Socket.IO
//! packet, `6` noop. Socket.IO: `<type>[/nsp,][<ack id>][<json>]` with the
//! types `0` connect, `1` disconnect, `2` event `["name",data...]`, `3` ack
//! `[data...]`, `4` connect error `{"message":...}`.
//!
//! [`parse`] is the load generator's per-frame path (the default namespace
//! only, no allocation); [`Packet`] is the general split (any namespace, ack
//! ids) that the test client reads into owned values.

/// One Socket.IO packet (what follows the Engine.IO `4`), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The packet type as its ASCII digit (`b'0'` connect ... `b'6'`).
    pub kind: u8,
    /// `/name` of a namespace other than `/`, without its comma.
    pub nsp: Option<&'a str>,
    /// The digits of the ack id; empty when there is none.
    pub id: &'a str,
    /// The JSON payload as written; empty when there is none.
    pub data: &'a str,
}

impl<'a> Packet<'a> {
    /// Splits a Socket.IO packet; None when it is empty or its type is not
    /// an ASCII character.
    pub fn parse(packet: &'a str) -> Option<Packet<'a>> {
        let kind = *packet.as_bytes().first()?;
        let mut body = packet.get(1..)?;
        let mut nsp = None;
        if body.starts_with('/') {
            match body.find(',') {
                Some(i) => {
                    nsp = Some(&body[..i]);
                    body = &body[i + 1..];
                }
                None => {
                    nsp = Some(body);
                    body = "";
                }
            }
        }
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        Some(Packet {
            kind,
            nsp,
            id: &body[..digits],
            data: &body[digits..],
        })
    }

    /// The ack id, when there is one (and it fits a u64).
    pub fn ack_id(&self) -> Option<u64> {
        self.id.parse().ok()
    }
}

/// One frame from the server, borrowing from the text it came in.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Engine.IO open `0{...}`.
    Open(&'a str),
    /// Engine.IO close `1`.
    Close,
    /// Engine.IO ping `2`: answer with pong `3`.
    Ping,
    /// Socket.IO connect `40{"sid":..}`.
    Connect,
    /// Socket.IO disconnect `41`.
    Disconnect,
    /// Socket.IO event `42["name",data]`, data as raw JSON.
    Event { name: &'a str, data: &'a str },
    /// Socket.IO acknowledgement `43<id>[data]`, the array as raw JSON.
    Ack { id: u64, data: &'a str },
    /// Socket.IO connect error `44{"message":..}`.
    ConnectError(&'a str),
    /// Anything else (noop, pong, binary, other namespaces).
    Other,
}

/// Parses one websocket text frame of the default namespace: the load
/// generator's per-frame path, so it reads the bytes it needs and no more
/// (frames of other namespaces, and events that ask for an ack, are
/// `Other`).
pub fn parse(text: &str) -> Frame<'_> {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b'0') => return Frame::Open(&text[1..]),
        Some(b'1') => return Frame::Close,
        Some(b'2') => return Frame::Ping,
        Some(b'4') => {}
        _ => return Frame::Other,
    }
    let rest = text.get(2..).unwrap_or("");
    match bytes.get(1) {
        Some(b'0') if !rest.starts_with('/') => Frame::Connect,
        Some(b'1') if !rest.starts_with('/') => Frame::Disconnect,
        Some(b'2') => parse_event(rest).unwrap_or(Frame::Other),
        Some(b'3') => {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            match rest[..digits].parse() {
                Ok(id) => Frame::Ack {
                    id,
                    data: &rest[digits..],
                },
                Err(_) => Frame::Other,
            }
        }
        Some(b'4') if !rest.starts_with('/') => Frame::ConnectError(rest),
        _ => Frame::Other,
    }
}

/// `["name",data]` (the name without escapes, as the server writes them).
fn parse_event(rest: &str) -> Option<Frame<'_>> {
    let body = rest.strip_prefix("[\"")?;
    let end = body.find('"')?;
    let name = &body[..end];
    let after = body[end + 1..].trim_start();
    let data = match after.strip_prefix(',') {
        Some(d) => d.trim().strip_suffix(']')?.trim_end(),
        None => {
            after.strip_prefix(']')?;
            ""
        }
    };
    Some(Frame::Event { name, data })
}

/// `42["name",data]`: an event without acknowledgement.
pub fn encode_event(name: &str, data: &serde_json::Value) -> String {
    let payload = serde_json::json!([name, data]);
    format!("42{payload}")
}

/// `42<id>["name",data]`: an event that asks for an acknowledgement.
pub fn encode_event_with_ack(id: u64, name: &str, data: &serde_json::Value) -> String {
    let payload = serde_json::json!([name, data]);
    format!("42{id}{payload}")
}

/// The smallest part of the `online_users` payload we need.
#[derive(serde::Deserialize)]
struct OnlineCount {
    count: usize,
}

/// The count of an `online_users` event, if its data is well formed.
pub fn online_count(data: &str) -> Option<usize> {
    serde_json::from_str::<OnlineCount>(data)
        .ok()
        .map(|o| o.count)
}

#[derive(serde::Deserialize)]
struct MessageContent<'a> {
    #[serde(borrow)]
    content: std::borrow::Cow<'a, str>,
}

/// The `content` of a `new_message` event.
pub fn message_content(data: &str) -> Option<std::borrow::Cow<'_, str>> {
    serde_json::from_str::<MessageContent<'_>>(data)
        .ok()
        .map(|m| m.content)
}

#[derive(serde::Deserialize)]
struct AckBody {
    success: bool,
}

/// Whether an acknowledgement `[{"success": ...}]` reports success.
pub fn ack_success(data: &str) -> Option<bool> {
    serde_json::from_str::<(AckBody,)>(data)
        .ok()
        .map(|(b,)| b.success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_io_frames() {
        assert!(matches!(
            parse(r#"0{"sid":"x","pingInterval":25000}"#),
            Frame::Open(_)
        ));
        assert_eq!(parse("2"), Frame::Ping);
        assert_eq!(parse("1"), Frame::Close);
        assert_eq!(parse("6"), Frame::Other);
        assert_eq!(parse(""), Frame::Other);
        assert_eq!(parse("4"), Frame::Other);
    }

    #[test]
    fn socket_io_frames() {
        assert_eq!(parse(r#"40{"sid":"abc"}"#), Frame::Connect);
        assert_eq!(parse("40/admin,{}"), Frame::Other);
        assert_eq!(parse("41"), Frame::Disconnect);
        assert_eq!(
            parse(r#"44{"message":"unauthorized"}"#),
            Frame::ConnectError(r#"{"message":"unauthorized"}"#)
        );
        assert_eq!(
            parse(r#"42["online_users",{"count":2,"users":["a","b"]}]"#),
            Frame::Event {
                name: "online_users",
                data: r#"{"count":2,"users":["a","b"]}"#
            }
        );
        assert_eq!(
            parse(r#"42["ping_only"]"#),
            Frame::Event {
                name: "ping_only",
                data: ""
            }
        );
        assert_eq!(
            parse(r#"4317[{"success":true}]"#),
            Frame::Ack {
                id: 17,
                data: r#"[{"success":true}]"#
            }
        );
        // Other namespaces and events that ask for an ack are not ours.
        assert_eq!(parse(r#"42/admin,["x",1]"#), Frame::Other);
        assert_eq!(parse(r#"425["x",1]"#), Frame::Other);
        assert_eq!(parse(r#"43/admin,5[1]"#), Frame::Other);
        // Malformed input is never a panic.
        for junk in [
            "42",
            "42[",
            "42[\"x",
            "42[\"x\",",
            "43",
            "43x",
            "4\u{e9}",
            "0",
            "40/",
            "4/",
        ] {
            let _ = parse(junk);
        }
        assert_eq!(parse("43x"), Frame::Other);
        assert_eq!(parse("4\u{e9}"), Frame::Other);
    }

    #[test]
    fn packets() {
        assert_eq!(
            Packet::parse(r#"2/chat,12["a",{}]"#),
            Some(Packet {
                kind: b'2',
                nsp: Some("/chat"),
                id: "12",
                data: r#"["a",{}]"#
            })
        );
        assert_eq!(
            Packet::parse("0/admin"),
            Some(Packet {
                kind: b'0',
                nsp: Some("/admin"),
                id: "",
                data: ""
            })
        );
        assert_eq!(Packet::parse("3[1]").unwrap().ack_id(), None);
        assert_eq!(Packet::parse("37[1]").unwrap().ack_id(), Some(7));
        assert_eq!(Packet::parse(""), None);
        assert_eq!(Packet::parse("\u{e9}"), None);
    }

    /// `parse` and `Packet` read the default namespace alike.
    #[test]
    fn parse_agrees_with_packet() {
        for text in [
            r#"40{"sid":"abc"}"#,
            "41",
            r#"42["new_message",{"id":1}]"#,
            r#"42["x"]"#,
            r#"4317[{"success":true}]"#,
            r#"44{"message":"unauthorized"}"#,
            r#"40/admin,{}"#,
            r#"42/admin,["x",1]"#,
            r#"425["x",1]"#,
            "43x",
            "45",
        ] {
            let packet = Packet::parse(&text[1..]).unwrap();
            let expected = match (packet.kind, packet.nsp) {
                (_, Some(_)) => "other",
                (b'0', None) => "connect",
                (b'1', None) => "disconnect",
                (b'2', None) if packet.id.is_empty() => "event",
                (b'3', None) if packet.ack_id().is_some() => "ack",
                (b'4', None) => "connect_error",
                _ => "other",
            };
            let got = match parse(text) {
                Frame::Connect => "connect",
                Frame::Disconnect => "disconnect",
                Frame::Event { .. } => "event",
                Frame::Ack { .. } => "ack",
                Frame::ConnectError(_) => "connect_error",
                _ => "other",
            };
            assert_eq!(got, expected, "{text}");
        }
    }

    #[test]
    fn payloads() {
        assert_eq!(
            online_count(r#"{"count":3,"users":["a","b","c"]}"#),
            Some(3)
        );
        assert_eq!(online_count("nonsense"), None);
        assert_eq!(online_count(r#"{"users":["a"],"count":1}"#), Some(1));
        assert_eq!(online_count(r#"{"count":12}"#), Some(12));
        assert_eq!(online_count(r#"{"count":1x}"#), None);
        let data = r#"{"id":1,"user_id":2,"username":"u","content":"bench 1 2 3 4","message_type":"text","timestamp":"t"}"#;
        assert_eq!(message_content(data).as_deref(), Some("bench 1 2 3 4"));
        assert_eq!(
            ack_success(r#"[{"success":true,"message":{"id":1}}]"#),
            Some(true)
        );
        assert_eq!(
            ack_success(r#"[{"success":false,"error":"flood"}]"#),
            Some(false)
        );
        assert_eq!(ack_success("[]"), None);
        assert_eq!(
            encode_event_with_ack(5, "send_message", &serde_json::json!({"content": "hi"})),
            r#"425["send_message",{"content":"hi"}]"#
        );
        assert_eq!(
            encode_event("send_message", &serde_json::json!({"content": "hi"})),
            r#"42["send_message",{"content":"hi"}]"#
        );
    }
}

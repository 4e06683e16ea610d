//! The query string of `GET /api/messages`: untrusted bytes → the map axum's
//! `Query<HashMap<String, String>>` makes of them (serde_urlencoded) →
//! `parse_page`.
#![no_main]

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::Uri;
use chat_domain::Page;
use chat_server::messages::{parse_page, MAX_PAGE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = serde_urlencoded::from_bytes::<HashMap<String, String>>(data);

    // Where the bytes can be (part of) a request target, axum's own extractor
    // (what the handler gets) must agree with the plain parse of the query
    // the URI kept (a `#` ends it).
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(uri) = format!("/api/messages?{text}").parse::<Uri>() {
            let query = uri.query().unwrap_or_default();
            let plain = serde_urlencoded::from_str::<HashMap<String, String>>(query);
            let via_axum = Query::<HashMap<String, String>>::try_from_uri(&uri);
            match (&plain, &via_axum) {
                (Ok(a), Ok(Query(b))) => assert_eq!(a, b),
                (Err(_), Err(_)) => {}
                _ => panic!("axum and serde_urlencoded disagree on {query:?}"),
            }
        }
    }

    let Ok(params) = parsed else {
        return;
    };
    let Ok(page) = parse_page(&params) else {
        return;
    };
    let (id, limit) = match page {
        Page::Latest { limit } => (None, limit),
        Page::Before { id, limit } => {
            assert!(!params.contains_key("after_id"));
            (Some(id), limit)
        }
        Page::After { id, limit } => {
            assert!(!params.contains_key("before_id"));
            (Some(id), limit)
        }
    };
    assert!(
        (1..=MAX_PAGE).contains(&limit),
        "limit {limit} from {params:?}"
    );
    if let Some(id) = id {
        assert!(id >= 0, "id {id} from {params:?}");
    }
    if !params.contains_key("limit") {
        assert_eq!(limit, chat_server::messages::DEFAULT_PAGE);
    }
});

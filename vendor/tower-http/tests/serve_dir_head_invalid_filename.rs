//! Patch (docs/PATCHES.md of the chat server): a HEAD request for a name the
//! file system refuses (a NUL byte) answered 500 where the same GET called
//! the fallback (tower-http#573 was fixed for GET only).

use std::convert::Infallible;

use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, ServiceExt};
use tower_http::services::ServeDir;

async fn fallback<T>(_: T) -> Result<Response<Full<bytes::Bytes>>, Infallible> {
    let mut res = Response::new(Full::default());
    res.headers_mut()
        .insert("from-fallback", "1".parse().unwrap());
    Ok(res)
}

#[tokio::test]
async fn head_and_get_call_the_fallback_on_a_nul_byte() {
    let svc = ServeDir::new(env!("CARGO_MANIFEST_DIR")).fallback(service_fn(fallback));

    for method in [Method::GET, Method::HEAD] {
        for uri in ["/invalid-path%00", "/dir%00/file.txt", "/src%00"] {
            let req = Request::builder()
                .method(method.clone())
                .uri(uri)
                .body(Full::<bytes::Bytes>::default())
                .unwrap();

            let res = svc.clone().oneshot(req).await.unwrap();

            assert_eq!(res.status(), StatusCode::OK, "{method} {uri}");
            assert_eq!(res.headers()["from-fallback"], "1", "{method} {uri}");
        }
    }
}

#[tokio::test]
async fn head_of_an_existing_file_is_still_served() {
    let svc = ServeDir::new(env!("CARGO_MANIFEST_DIR")).fallback(service_fn(fallback));
    let req = Request::builder()
        .method(Method::HEAD)
        .uri("/Cargo.toml")
        .body(Full::<bytes::Bytes>::default())
        .unwrap();

    let res = svc.oneshot(req).await.unwrap();

    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("from-fallback").is_none());
    assert!(res.headers().contains_key("content-length"));
}

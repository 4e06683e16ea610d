//! JSON request bodies whose every failure is the protocol's 400 (or 413),
//! with the `{"success": false, "error"}` body, never axum's plain text.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::body::{read_limited, ReadError};
use crate::error::AppError;

/// Largest JSON body accepted (credentials are a few hundred bytes).
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// A JSON object body.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = AppError;

    async fn from_request(req: Request, _: &S) -> Result<Self, AppError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        let body = read_limited(req.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge(_) => AppError::BadRequestTooLarge,
                ReadError::Broken => AppError::bad_request("无法读取请求体"),
            });
        if !is_json {
            return Err(AppError::bad_request(
                "请求体必须是 JSON (Content-Type: application/json)",
            ));
        }
        let bytes = body?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(AppError::bad_request("请求体必须是 JSON 对象")),
            Err(_) => Err(AppError::bad_request("JSON 格式错误")),
        }
    }
}

impl JsonObject {
    /// A required string field.
    pub fn string(&self, name: &str) -> Result<&str, AppError> {
        match self.0.get(name) {
            Some(Value::String(s)) => Ok(s),
            None | Some(Value::Null) => Err(AppError::bad_request(format!("缺少字段 {name}"))),
            Some(_) => Err(AppError::bad_request(format!("字段 {name} 必须是字符串"))),
        }
    }
}

//! Function URL requests and answers: the raw body (decoded when Lambda delivered it in
//! base64), the method and headers, and a JSON answer with its status.

use aws_lambda_events::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use base64::Engine;
use serde_json::{Value, json};

/// A request's method, headers (names as sent) and exact body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestParts {
    /// Method.
    pub method: String,
    /// Headers whose values are text.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

/// The parts of `req`; a body that is not valid base64 is answered 400 here.
pub fn parts(req: LambdaFunctionUrlRequest) -> Result<RequestParts, Box<LambdaFunctionUrlResponse>> {
    let method = req.request_context.http.method.clone().unwrap_or_default();
    let body = match (req.body, req.is_base64_encoded) {
        (Some(b), true) => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(|_| Box::new(respond(400, json!({"error": "body is not valid base64"}))))?,
        (Some(b), false) => b.into_bytes(),
        (None, _) => Vec::new(),
    };
    let headers = req
        .headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_owned(), v.to_owned())))
        .collect();
    Ok(RequestParts { method, headers, body })
}

/// A JSON answer with `status`.
pub fn respond(status: u16, body: Value) -> LambdaFunctionUrlResponse {
    let mut resp = LambdaFunctionUrlResponse::default();
    resp.status_code = i64::from(status);
    resp.headers.insert("content-type", "application/json".parse().expect("static header"));
    resp.body = Some(body.to_string());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_decoded_and_bad_base64_is_answered() {
        let mut req = LambdaFunctionUrlRequest::default();
        req.request_context.http.method = Some("POST".into());
        req.body = Some("aGk=".into());
        req.is_base64_encoded = true;
        req.headers.insert("x-app-id", "a".parse().unwrap());
        let p = parts(req.clone()).unwrap();
        assert_eq!((p.method.as_str(), p.body.as_slice()), ("POST", b"hi".as_slice()));
        assert_eq!(p.headers, [("x-app-id".to_owned(), "a".to_owned())]);
        req.body = Some("not base64!".into());
        assert_eq!(parts(req).unwrap_err().status_code, 400);
    }
}

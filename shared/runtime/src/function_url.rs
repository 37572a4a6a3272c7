//! Function URL requests and answers: the raw body (decoded when Lambda delivered it in
//! base64), the method, headers and query, a JSON answer with its status, and the checks every
//! signed endpoint makes before it reads a body ([`Signed`]).

use aws_lambda_events::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use base64::Engine;
use platform_domain::signature::{self, SignatureError};
use serde_json::{Value, json};

/// A request's method, headers (names as sent), query parameters and exact body bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestParts {
    /// Method.
    pub method: String,
    /// Headers whose values are text.
    pub headers: Vec<(String, String)>,
    /// Query string parameters, decoded.
    pub query: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl RequestParts {
    /// A header's value by case-insensitive name, trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
    }

    /// A query parameter's value.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// An endpoint's JSON answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl Answer {
    /// `{"error": message}` with `status`.
    pub fn error(status: u16, message: impl Into<String>) -> Answer {
        Answer { status, body: json!({"error": message.into()}) }
    }

    /// The Function URL response.
    pub fn into_response(self) -> LambdaFunctionUrlResponse {
        respond(self.status, self.body)
    }
}

/// The checks of a signed endpoint, in one order, before its body is read: the method (405), the
/// body's size (413), then the caller's name in `caller_header` (401) and the HMAC-SHA256
/// signature of the raw body in `signature_header` with the caller's key (401, fails closed
/// without a key). An endpoint whose key does not follow from a caller header (the Formstack
/// webhook: a key per form) sets `caller_header` to `None`, calls [`Signed::admit`] and verifies
/// with [`Signed::verify`].
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// Methods taken.
    pub methods: &'a [&'a str],
    /// Largest body taken, in bytes.
    pub max_body: usize,
    /// The header naming the caller whose key signs the body.
    pub caller_header: Option<&'a str>,
    /// The header carrying `sha256=<hex>`.
    pub signature_header: &'a str,
}

impl Signed<'_> {
    /// The method and size checks.
    pub fn admit(&self, req: &RequestParts) -> Result<(), Answer> {
        if !self.methods.iter().any(|m| req.method.eq_ignore_ascii_case(m)) {
            return Err(Answer::error(405, format!("use {}", self.methods.join(" or "))));
        }
        if req.body.len() > self.max_body {
            return Err(Answer::error(413, format!("the body is larger than {} bytes", self.max_body)));
        }
        Ok(())
    }

    /// [`Signed::admit`], then the caller's name from the caller header (401 without one).
    pub fn admit_caller<'r>(&self, req: &'r RequestParts) -> Result<&'r str, Answer> {
        self.admit(req)?;
        let caller_header = self.caller_header.unwrap_or("a caller header");
        req.header(caller_header).filter(|c| !c.is_empty()).ok_or_else(|| {
            Answer::error(401, format!("unsigned request: {caller_header} and {} are required", self.signature_header))
        })
    }

    /// Verifies the raw body's signature with `key` (`None`: no key, refused).
    pub fn verify(&self, req: &RequestParts, key: Option<&str>) -> Result<(), SignatureError> {
        signature::verify(&req.body, req.header(self.signature_header), key)
    }

    /// [`Signed::verify`] for the caller [`Signed::admit_caller`] named, answered 401 (and logged) when
    /// it fails.
    pub fn verify_caller(&self, req: &RequestParts, caller: &str, key: Option<&str>) -> Result<(), Answer> {
        let caller_header = self.caller_header.unwrap_or("the caller");
        self.verify(req, key).map_err(|e| {
            tracing::warn!(caller, reason = %e, "request refused: a bad signature or an unknown caller");
            Answer::error(401, format!("the signature does not match the body for this {caller_header}"))
        })
    }
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
    let query = req
        .raw_query_string
        .as_deref()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    Ok(RequestParts { method, headers, query, body })
}

/// Answers a Function URL request with `handler`: the request's parts (a body that is not valid
/// base64 is answered 400 here), then the handler's answer; a 503 tells the caller to send again
/// in a second (`Retry-After: 1`).
pub async fn serve<F, Fut>(req: LambdaFunctionUrlRequest, handler: F) -> LambdaFunctionUrlResponse
where
    F: FnOnce(RequestParts) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let parts = match parts(req) {
        Ok(p) => p,
        Err(answer) => return *answer,
    };
    let answer = handler(parts).await;
    let retry = answer.status == 503;
    let mut resp = answer.into_response();
    if retry {
        resp.headers.insert("retry-after", "1".parse().expect("static header"));
    }
    resp
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
        req.raw_query_string = Some("form_id=5095980&note=a+b".into());
        let p = parts(req.clone()).unwrap();
        assert_eq!((p.method.as_str(), p.body.as_slice()), ("POST", b"hi".as_slice()));
        assert_eq!(p.headers, [("x-app-id".to_owned(), "a".to_owned())]);
        assert_eq!(
            (p.header("X-App-Id"), p.query("form_id"), p.query("note")),
            (Some("a"), Some("5095980"), Some("a b"))
        );
        req.body = Some("not base64!".into());
        assert_eq!(parts(req).unwrap_err().status_code, 400);
    }

    #[test]
    fn a_signed_endpoint_checks_method_size_caller_and_signature_in_order() {
        let endpoint = Signed {
            methods: &["POST"],
            max_body: 8,
            caller_header: Some("X-App-Id"),
            signature_header: "X-Signature",
        };
        let body = b"{}".to_vec();
        let signed = RequestParts {
            method: "post".into(),
            headers: vec![("x-app-id".into(), " app ".into()), ("X-Signature".into(), signature::sign(&body, "k"))],
            body,
            ..RequestParts::default()
        };
        assert_eq!(endpoint.admit_caller(&signed), Ok("app"));
        assert_eq!(endpoint.verify_caller(&signed, "app", Some("k")), Ok(()));
        let refused = |r: Result<(), Answer>| r.unwrap_err().status;
        assert_eq!(refused(endpoint.verify_caller(&signed, "app", Some("other"))), 401);
        assert_eq!(refused(endpoint.verify_caller(&signed, "app", None)), 401, "no key fails closed");
        let status = |r: RequestParts| endpoint.admit_caller(&r).unwrap_err().status;
        assert_eq!(status(RequestParts { method: "GET".into(), ..signed.clone() }), 405);
        assert_eq!(status(RequestParts { body: vec![b' '; 9], ..signed.clone() }), 413);
        assert_eq!(status(RequestParts { headers: vec![], ..signed.clone() }), 401);
        let anyone = Signed { caller_header: None, ..endpoint };
        assert_eq!(anyone.admit(&RequestParts { headers: vec![], ..signed.clone() }), Ok(()));
        assert_eq!(
            endpoint.admit_caller(&RequestParts { headers: vec![], ..signed }).unwrap_err().body["error"],
            "unsigned request: X-App-Id and X-Signature are required"
        );
    }
}

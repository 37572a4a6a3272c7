//! The shapes of event every function may receive, recognised in one place: an SQS batch, an S3
//! upload notification, a Function URL request, an EventBridge schedule, an operator's
//! `{"action": …}` command. A function names the shapes it takes ([`Shape`]) and [`accept`]
//! refuses the others, saying what it takes.

use aws_lambda_events::{lambda_function_urls::LambdaFunctionUrlRequest, sqs::SqsEvent};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{ErrorKind, InvocationError};

/// An event, by its shape; `C` is the function's command type.
#[derive(Debug)]
pub enum Event<C> {
    /// `{"Records": […]}` from SQS.
    Sqs(SqsEvent),
    /// An S3 event notification: the uploaded objects' keys, URL-decoded.
    S3Upload(Vec<String>),
    /// A Function URL request.
    FunctionUrl(Box<LambdaFunctionUrlRequest>),
    /// An EventBridge `Scheduled Event`.
    Schedule,
    /// `{"action": …}`.
    Command(C),
    /// None of these.
    Other,
}

/// The shape of an event, as a function declares the ones it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// [`Event::Sqs`].
    Sqs,
    /// [`Event::S3Upload`].
    S3Upload,
    /// [`Event::FunctionUrl`].
    FunctionUrl,
    /// [`Event::Schedule`].
    Schedule,
    /// [`Event::Command`].
    Command,
}

impl Shape {
    fn describe(self) -> &'static str {
        match self {
            Shape::Sqs => "an SQS batch",
            Shape::S3Upload => "an S3 upload",
            Shape::FunctionUrl => "a Function URL request",
            Shape::Schedule => "a Scheduled Event",
            Shape::Command => "{\"action\": …}",
        }
    }
}

impl<C> Event<C> {
    /// This event's shape; `None` for [`Event::Other`].
    pub fn shape(&self) -> Option<Shape> {
        match self {
            Event::Sqs(_) => Some(Shape::Sqs),
            Event::S3Upload(_) => Some(Shape::S3Upload),
            Event::FunctionUrl(_) => Some(Shape::FunctionUrl),
            Event::Schedule => Some(Shape::Schedule),
            Event::Command(_) => Some(Shape::Command),
            Event::Other => None,
        }
    }
}

/// Reads `payload` as [`read`] does and refuses an event of a shape not in `takes`; the error
/// (kind Event, logged once) says what was wrong or what the function takes.
pub fn accept<C: DeserializeOwned + Serialize>(payload: Value, takes: &[Shape]) -> Result<Event<C>, InvocationError> {
    let event = read(payload).map_err(refused)?;
    match event.shape() {
        Some(shape) if takes.contains(&shape) => Ok(event),
        _ => Err(not_taken(takes)),
    }
}

/// The error for an event of a shape the function does not take: it lists what it takes.
pub fn not_taken(takes: &[Shape]) -> InvocationError {
    let mut what: Vec<&str> = takes.iter().map(|s| s.describe()).collect();
    let last = what.pop().unwrap_or("nothing");
    let listed = if what.is_empty() { last.to_owned() } else { format!("{} or {last}", what.join(", ")) };
    refused(format!("unrecognised event: this function takes {listed}"))
}

fn refused(message: String) -> InvocationError {
    tracing::error!(error = %message, "event refused");
    InvocationError::new(ErrorKind::Event, message)
}

/// Recognises `payload`'s shape and reads it; the error says what was not understood. A command
/// with a field its action does not have is refused with the field named (an operator's typo
/// never runs with defaults), whatever the command type's own serde attributes say: every field
/// given must come back when the command is written out again.
pub fn read<C: DeserializeOwned + Serialize>(payload: Value) -> Result<Event<C>, String> {
    if let Some(keys) = s3_object_keys(&payload) {
        return Ok(Event::S3Upload(keys));
    }
    if payload.get("Records").is_some() {
        return serde_json::from_value(payload).map(Event::Sqs).map_err(|e| format!("SQS event not understood: {e}"));
    }
    if payload.get("requestContext").and_then(|c| c.get("http")).is_some() {
        return serde_json::from_value(payload)
            .map(|r| Event::FunctionUrl(Box::new(r)))
            .map_err(|e| format!("Function URL event not understood: {e}"));
    }
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        return Ok(Event::Schedule);
    }
    if payload.get("action").is_some() {
        let command: C = serde_json::from_value(payload.clone()).map_err(|e| format!("unknown command: {e}"))?;
        let known = serde_json::to_value(&command).map_err(|e| format!("unknown command: {e}"))?;
        if let Some(field) =
            payload.as_object().into_iter().flatten().map(|(k, _)| k).find(|k| known.get(k.as_str()).is_none())
        {
            let action = payload.get("action").and_then(Value::as_str).unwrap_or_default();
            return Err(format!("unknown command: unknown field `{field}` for action {action:?}"));
        }
        return Ok(Event::Command(command));
    }
    Ok(Event::Other)
}

/// The object keys of an S3 event notification (`{"Records": [{"eventSource": "aws:s3", …}]}`),
/// URL-decoded as S3 sends them encoded (`+` for a space); `None` when `payload` is not one.
fn s3_object_keys(payload: &Value) -> Option<Vec<String>> {
    if payload.pointer("/Records/0/eventSource").and_then(Value::as_str) != Some("aws:s3") {
        return None;
    }
    Some(
        payload["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.pointer("/s3/object/key").and_then(Value::as_str))
            .map(|key| form_urlencoded::parse(format!("k={key}").as_bytes()).map(|(_, v)| v.into_owned()).collect())
            .collect(),
    )
}

/// The sample event `events/<function>/<name>` of this repository (the functions' tests read
/// them, so that every sample is known to be understood). Only with the `test-support` feature:
/// it reads the repository, which a deployed function does not have.
#[cfg(any(test, feature = "test-support"))]
pub fn sample(function: &str, name: &str) -> Value {
    let path = format!("{}/../../events/{function}/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A command's report date: `YYYY-MM-DD`, or today (UTC) when none is given.
pub fn report_date(text: Option<&str>) -> Result<chrono::NaiveDate, InvocationError> {
    match text {
        Some(d) => chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| refused(format!("date {d:?} is not YYYY-MM-DD"))),
        None => Ok(chrono::Utc::now().date_naive()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize, serde::Serialize, PartialEq)]
    #[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
    enum Command {
        Sweep,
        Pull {
            #[serde(default)]
            full: bool,
        },
    }

    #[test]
    fn every_shape_is_recognised_and_a_bad_one_explained() {
        let sqs = json!({"Records": [{"messageId": "m", "body": "{}"}]});
        assert!(matches!(read::<Command>(sqs), Ok(Event::Sqs(e)) if e.records.len() == 1));
        let url: Value =
            serde_json::from_str(include_str!("../../../events/formstack-intake/webhook-valid.json")).unwrap();
        assert!(matches!(read::<Command>(url), Ok(Event::FunctionUrl(_))));
        assert!(matches!(read::<Command>(json!({"detail-type": "Scheduled Event"})), Ok(Event::Schedule)));
        assert!(matches!(read::<Command>(json!({"action": "sweep"})), Ok(Event::Command(Command::Sweep))));
        assert!(read::<Command>(json!({"action": "explode"})).unwrap_err().contains("unknown command"));
        // A typo is refused with the field named, on a unit action as on one with fields.
        for (typo, field) in
            [(json!({"action": "sweep", "dry_run": true}), "dry_run"), (json!({"action": "pull", "ful": true}), "ful")]
        {
            let err = read::<Command>(typo).unwrap_err();
            assert!(err.contains(&format!("unknown field `{field}`")), "{err}");
        }
        assert!(matches!(
            read::<Command>(json!({"action": "pull"})),
            Ok(Event::Command(Command::Pull { full: false }))
        ));
        assert!(read::<Command>(json!({"Records": "no"})).unwrap_err().contains("SQS event not understood"));
        assert!(matches!(read::<Command>(json!({"hello": 1})), Ok(Event::Other)));
    }

    #[test]
    fn a_shape_not_taken_is_refused_with_what_is_taken() {
        let takes = [Shape::Sqs, Shape::Schedule, Shape::Command];
        assert!(matches!(accept::<Command>(json!({"action": "sweep"}), &takes), Ok(Event::Command(Command::Sweep))));
        let url: Value =
            serde_json::from_str(include_str!("../../../events/formstack-intake/webhook-valid.json")).unwrap();
        for refused in [url, json!({"hello": 1})] {
            let e = accept::<Command>(refused, &takes).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Event);
            assert_eq!(
                e.message,
                "unrecognised event: this function takes an SQS batch, a Scheduled Event or {\"action\": …}"
            );
        }
        let e = accept::<Command>(json!({"action": "sweep", "dry_run": true}), &takes).unwrap_err();
        assert!(e.message.contains("unknown field `dry_run`"), "{e}");
        assert_eq!(
            not_taken(&[Shape::FunctionUrl]).message,
            "unrecognised event: this function takes a Function URL request"
        );
    }

    #[test]
    fn s3_keys_are_decoded_and_dates_read() {
        let s3 = json!({"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "incoming/organizations+reviewed%281%29.xlsx"}}}]});
        assert_eq!(s3_object_keys(&s3), Some(vec!["incoming/organizations reviewed(1).xlsx".to_owned()]));
        assert!(matches!(read::<Command>(s3), Ok(Event::S3Upload(keys)) if keys.len() == 1));
        assert_eq!(s3_object_keys(&json!({"Records": [{"eventSource": "aws:sqs"}]})), None);
        assert_eq!(report_date(Some("2026-12-07")).unwrap().to_string(), "2026-12-07");
        assert!(report_date(Some("07/12/2026")).unwrap_err().message.contains("is not YYYY-MM-DD"));
        assert_eq!(report_date(None).unwrap(), chrono::Utc::now().date_naive());
    }
}

//! The shapes of event every function may receive, recognised in one place: an SQS batch, a
//! Function URL request, an EventBridge schedule, an operator's `{"action": …}` command. Each
//! function's `classify` maps these to its own `Trigger` and refuses the shapes it does not take.

use aws_lambda_events::{lambda_function_urls::LambdaFunctionUrlRequest, sqs::SqsEvent};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// An event, by its shape; `C` is the function's command type.
#[derive(Debug)]
pub enum Event<C> {
    /// `{"Records": […]}` from SQS.
    Sqs(SqsEvent),
    /// A Function URL request.
    FunctionUrl(Box<LambdaFunctionUrlRequest>),
    /// An EventBridge `Scheduled Event`.
    Schedule,
    /// `{"action": …}`.
    Command(C),
    /// None of these.
    Other,
}

/// Recognises `payload`'s shape and reads it; the error says what was not understood. A command
/// with a field its action does not have is refused with the field named (an operator's typo
/// never runs with defaults), whatever the command type's own serde attributes say: every field
/// given must come back when the command is written out again.
pub fn read<C: DeserializeOwned + Serialize>(payload: Value) -> Result<Event<C>, String> {
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
pub fn s3_object_keys(payload: &Value) -> Option<Vec<String>> {
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

/// A command's report date: `YYYY-MM-DD`, or today (UTC) when none is given.
pub fn report_date(text: Option<&str>) -> Result<chrono::NaiveDate, String> {
    match text {
        Some(d) => {
            chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| format!("date {d:?} is not YYYY-MM-DD"))
        }
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
    fn s3_keys_are_decoded_and_dates_read() {
        let s3 = json!({"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "incoming/organizations+reviewed%281%29.xlsx"}}}]});
        assert_eq!(s3_object_keys(&s3), Some(vec!["incoming/organizations reviewed(1).xlsx".to_owned()]));
        assert_eq!(s3_object_keys(&json!({"Records": [{"eventSource": "aws:sqs"}]})), None);
        assert_eq!(report_date(Some("2026-12-07")).unwrap().to_string(), "2026-12-07");
        assert!(report_date(Some("07/12/2026")).unwrap_err().contains("is not YYYY-MM-DD"));
        assert_eq!(report_date(None).unwrap(), chrono::Utc::now().date_naive());
    }
}

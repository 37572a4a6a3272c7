//! The providers' manifests (`providers/<key>.toml`, embedded at build time by `build.rs`),
//! parsed and checked once per process. A manifest that does not parse, names an unknown
//! component or does not fit together fails this module's tests, never a pull.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

use crate::description::Provider;

include!(concat!(env!("OUT_DIR"), "/manifests.rs"));

static PROVIDERS: LazyLock<Vec<Provider>> = LazyLock::new(|| {
    MANIFESTS
        .iter()
        .map(|(file, text)| parse(file, text).unwrap_or_else(|e| panic!("manifest providers/{file}: {e}")))
        .collect()
});

/// Parses and checks one manifest; `file` must be `<key>.toml`.
pub fn parse(file: &str, text: &str) -> Result<Provider, String> {
    let mut provider: Provider = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.strip_suffix(".toml") != Some(provider.key.as_str()) {
        return Err(format!("the file of provider {:?} must be named {}.toml", provider.key, provider.key));
    }
    provider.check().map_err(|errs| errs.join("; "))?;
    provider.digest = hex::encode(&Sha256::digest(text.as_bytes())[..4]);
    Ok(provider)
}

/// Every provider the engine knows.
pub fn providers() -> &'static [Provider] {
    &PROVIDERS
}

/// The provider `key`.
pub fn provider(key: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manifest_parses_and_fits_together() {
        assert!(MANIFESTS.len() >= 3, "{} manifests", MANIFESTS.len());
        for (file, text) in MANIFESTS {
            let p = parse(file, text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(p.digest.len(), 8);
            for field in &p.credentials {
                assert!(!field.help.is_empty(), "{file}: credential {} has no help", field.name);
            }
        }
        assert_eq!(providers().len(), MANIFESTS.len());
    }

    fn aventri() -> String {
        MANIFESTS.iter().find(|(f, _)| *f == "aventri.toml").expect("aventri.toml").1.to_owned()
    }

    #[test]
    fn an_unknown_component_or_field_is_refused() {
        for (from, to, says) in [
            ("kind = \"offset\"", "kind = \"cursor\"", "unknown variant `cursor`"),
            ("kind = \"login\"", "kind = \"saml\"", "unknown variant `saml`"),
            ("target = \"participant\"", "target = \"visitor\"", "unknown variant `visitor`"),
            ("id_field = \"attendeeid\"", "id_field = \"attendeeid\"\nid_feild = \"x\"", "unknown field `id_feild`"),
        ] {
            let text = aventri().replacen(from, to, 1);
            assert_ne!(text, aventri(), "{from} is in the manifest");
            let err = parse("aventri.toml", &text).unwrap_err();
            assert!(err.contains(says), "{from} → {to}: {err}");
        }
    }

    fn manifest(file: &str) -> String {
        MANIFESTS.iter().find(|(f, _)| *f == file).unwrap_or_else(|| panic!("{file}")).1.to_owned()
    }

    #[test]
    fn every_rule_of_the_check_refuses_its_case() {
        let token = r#"next_token_at = "/paging/nextToken""#;
        for (file, from, to, says) in [
            ("cvent.toml", token, &*format!(r#"{token}, next_link_at = "/paging/_links/next/href""#), "one of them"),
            ("cvent.toml", r#"token_param = "token", "#, "", "token_param"),
            ("cvent.toml", "default_limit = 200", "default_limit = 0", "at least 1"),
            ("cvent.toml", r#"default = "client_credentials""#, r#"default = "oauth""#, "auth.default"),
            ("cvent.toml", r#"field = "level" }"#, r#"field = "tier" }"#, "maps no \"tier\""),
            ("cvent.toml", r#"event_credential = "eventId""#, "", "event_credential"),
            ("cvent.toml", r#"path = "/ea""#, r#"path = "ea""#, "must start with /"),
            ("cvent.toml", r#"photo = "contact._links.profilePicture.href""#, "", "mapped photo URL"),
            ("aventri.toml", r#", id_param = "attendeeid""#, "", "needs {id} in its path or an id_param"),
            ("aventri.toml", r#"to = "sponsors""#, r#"to = "presenters""#, "reroutes to \"presenters\""),
            ("aventri.toml", "rate_margin = 0.98", "rate_margin = 1.5", "rate_margin"),
            ("aventri.toml", r#"name = "sessions""#, r#"name = "participants""#, "described twice"),
            ("lenos.toml", r#"one_of = ["basic", "token"]"#, r#"one_of = ["basic", "oauth"]"#, "auth.modes are"),
            ("lenos.toml", r#"personId = "{person}", "#, "", "{person} and {session}"),
        ] {
            let text = manifest(file).replacen(from, to, 1);
            assert_ne!(text, manifest(file), "{file}: {from} is in the manifest");
            let err = parse(file, &text).unwrap_err();
            assert!(err.contains(says), "{file}: {from} → {to}: {err}");
        }
    }

    #[test]
    fn parts_that_do_not_fit_are_refused() {
        for (from, to, says) in [
            ("account_credential = \"accountid\"", "account_credential = \"acount\"", "credential \"acount\""),
            ("parent = \"participants\"", "parent = \"sessions\"", "parent \"sessions\""),
            ("records_at = \"/sessions\"", "records_at = \"sessions\"", "not a JSON pointer"),
            ("key = \"aventri\"", "key = \"aventri2\"", "aventri2.toml"),
        ] {
            let text = aventri().replacen(from, to, 1);
            assert_ne!(text, aventri(), "{from} is in the manifest");
            let err = parse("aventri.toml", &text).unwrap_err();
            assert!(err.contains(says), "{from} → {to}: {err}");
        }
    }
}

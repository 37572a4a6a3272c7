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

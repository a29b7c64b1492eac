//! Storage providers. Each vendor module turns a provider-neutral request ("let this user put
//! this object") into that vendor's signed URL, form or temporary credentials, and classifies
//! its own upstream errors. Signers are pure functions with the clock passed in; the
//! [`Provider`] trait and its small optional capabilities are what the services see.

mod capabilities;
pub mod cos;
pub mod encoding;
mod error;
mod multipart_xml;
pub mod oss;
pub mod s3;
mod types;
mod verified;

pub use capabilities::{
    CallbackVerifier, CredentialIssuer, CredentialScope, FormSigner, MultipartApi, ObjectApi,
    Provider,
};
pub use error::UpstreamError;
pub use types::*;
pub use verified::{CallbackFields, VerifiedCallback};

use crate::config::{ConfigError, Settings, VendorBucket};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every configured bucket's provider, by bucket config name.
#[derive(Clone, Default)]
pub struct Providers(BTreeMap<String, Arc<dyn Provider>>);

impl Providers {
    /// Builds every bucket's adapter; each checks the settings only it understands (such as
    /// OSS's limit on the size of callback parameters), so `check-config` runs this too.
    pub fn from_settings(
        settings: &Settings,
        http: &reqwest::Client,
    ) -> Result<Providers, ConfigError> {
        let mut map: BTreeMap<String, Arc<dyn Provider>> = BTreeMap::new();
        for (name, b) in &settings.buckets {
            let p: Arc<dyn Provider> = match &b.vendor {
                VendorBucket::Oss(vendor) => Arc::new(oss::OssProvider::new(
                    b.clone(),
                    vendor,
                    &settings.callbacks,
                    http.clone(),
                )),
                VendorBucket::Cos(vendor) => Arc::new(
                    cos::CosProvider::new(b.clone(), vendor, http.clone())
                        .map_err(|e| ConfigError::new(&format!("buckets.{name}"), e))?,
                ),
            };
            map.insert(name.clone(), p);
        }
        let providers = Providers(map);
        for (name, p) in &settings.profiles {
            if p.callback
                && let Some(provider) = providers.get(&p.bucket.name)
            {
                provider
                    .check_callback_setup(p.callback_body_type)
                    .map_err(|e| ConfigError::new(&format!("profiles.{name}.callback"), e))?;
            }
        }
        Ok(providers)
    }

    /// The checks [`Providers::from_settings`] makes, without keeping anything (`check-config`).
    pub fn check(settings: &Settings) -> Result<(), ConfigError> {
        let http = crate::http_client::builder()
            .build()
            .map_err(|e| ConfigError::new("", format!("http client: {e}")))?;
        Providers::from_settings(settings, &http).map(|_| ())
    }

    pub fn get(&self, bucket_name: &str) -> Option<&Arc<dyn Provider>> {
        self.0.get(bucket_name)
    }

    /// The callback verifier of every vendor some bucket uses, by vendor name.
    pub fn verifiers(
        &self,
        settings: &Settings,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Result<BTreeMap<&'static str, Arc<dyn CallbackVerifier>>, String> {
        let mut map: BTreeMap<&'static str, Arc<dyn CallbackVerifier>> = BTreeMap::new();
        if self.kinds().contains("oss") {
            let oss = oss::callback::OssCallbackVerifier::new(&settings.callbacks, metrics)?;
            map.insert("oss", Arc::new(oss));
        }
        Ok(map)
    }

    /// The vendors some bucket uses (routes only vendors in use are mounted).
    pub fn kinds(&self) -> std::collections::BTreeSet<&'static str> {
        self.0.values().map(|p| p.kind()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::MINIMAL;

    /// Settings that load, but that a provider refuses (the message is a config error).
    fn err(text: &str) -> String {
        let settings = Settings::from_toml(text).expect("loads");
        match Providers::check(&settings) {
            Ok(()) => panic!("config unexpectedly valid"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_callback_that_could_exceed_the_oss_limit_is_refused_at_load() {
        let long = format!("https://gw.example.com/{}", "p".repeat(4000));
        let e = err(&format!(
            "{MINIMAL}\n[callbacks]\npublic_url = \"{long}\"\n"
        ));
        assert!(
            e.starts_with("config error: profiles.avatars.callback:")
                && e.contains("over storage's 5120"),
            "{e}"
        );
    }
}

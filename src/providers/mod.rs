//! Storage providers. Each vendor module turns a provider-neutral request ("let this user put
//! this object") into that vendor's signed URL, form or temporary credentials, and classifies
//! its own upstream errors. Signers are pure functions with the clock passed in; the
//! [`Provider`] trait and its small optional capabilities are what the services see.

mod capabilities;
pub mod cos;
pub mod encoding;
mod error;
mod multipart_xml;
mod notice;
pub mod oss;
pub mod s3;
mod types;
mod verified;

pub use capabilities::{
    CallbackVerifier, CredentialIssuer, CredentialScope, FormSigner, MultipartApi, ObjectApi,
    Provider,
};
pub use error::UpstreamError;
pub use notice::{NotificationError, NotificationVerifier, Notified, ObjectNotice};
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
                VendorBucket::S3(vendor) => Arc::new(
                    s3::S3Provider::new(b.clone(), vendor, http.clone())
                        .map_err(|e| ConfigError::new(&format!("buckets.{name}"), e))?,
                ),
            };
            map.insert(name.clone(), p);
        }
        if let Some(sns) = &settings.callbacks.s3_sns {
            s3::notify::parse_topics(sns)
                .map_err(|e| ConfigError::new("callbacks.s3_sns.topic_arns", e))?;
        }
        let providers = Providers(map);
        for (name, p) in &settings.profiles {
            // A part size storage refuses would fail every multipart start of the profile.
            if let (Some(ps), Some(mp)) = (
                p.part_size,
                providers.get(&p.bucket.name).and_then(|x| x.multipart()),
            ) {
                let l = mp.limits();
                if !(l.min_part..=l.max_part).contains(&ps) {
                    return Err(ConfigError::new(
                        &format!("profiles.{name}.part_size_bytes"),
                        format!(
                            "{ps} is outside what bucket '{}' accepts ({} to {} bytes)",
                            p.bucket.name, l.min_part, l.max_part
                        ),
                    ));
                }
            }
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

    /// The notification routes configured (`[callbacks.s3_sns]`, `[callbacks.s3_webhook]`),
    /// by route name.
    pub fn notification_verifiers(
        &self,
        settings: &Settings,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Result<BTreeMap<&'static str, Arc<dyn NotificationVerifier>>, String> {
        let mut map: BTreeMap<&'static str, Arc<dyn NotificationVerifier>> = BTreeMap::new();
        if let Some(sns) = &settings.callbacks.s3_sns {
            let v = s3::notify::SnsVerifier::new(sns, metrics)?;
            map.insert(v.source(), Arc::new(v));
        }
        if let Some(w) = &settings.callbacks.s3_webhook {
            let v = s3::notify::WebhookVerifier::new(w);
            map.insert(v.source(), Arc::new(v));
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
    fn sns_topic_arns_are_checked_by_the_s3_adapter() {
        let e = err(&format!(
            "{MINIMAL}[callbacks.s3_sns]\ntopic_arns = [\"arn:aws:sns:eu-central-1:1234:t\"]\n"
        ));
        assert!(
            e.starts_with("config error: callbacks.s3_sns.topic_arns: 'arn:aws:sns:eu-central-1:1234:t' is not an SNS topic ARN"),
            "{e}"
        );
    }

    #[test]
    fn a_part_size_below_s3s_minimum_is_refused_at_load() {
        let text = MINIMAL
            .replace("provider = \"oss\"", "provider = \"s3\"")
            .replace("cn-hangzhou", "eu-central-1")
            + "part_size_bytes = 1048576\n";
        let e = err(&text);
        assert!(
            e.starts_with("config error: profiles.avatars.part_size_bytes: 1048576 is outside")
                && e.contains("5242880 to 5368709120"),
            "{e}"
        );
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

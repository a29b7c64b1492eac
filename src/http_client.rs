//! Outbound HTTP clients (storage, STS, public keys) share one TLS set-up.

use std::sync::Once;

static PROVIDER: Once = Once::new();

/// A reqwest builder with the process-wide rustls crypto provider installed.
pub fn builder() -> reqwest::ClientBuilder {
    PROVIDER.call_once(|| {
        // Fails only when another provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

//! One error answer, shared by both dialects: status, stable code, message and extra
//! elements. Each dialect renders it in its own `<Error>` shape (`oss::error`, `cos::error`),
//! so the handlers in the core never pick an XML layout.

pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Elements after `Message` (e.g. `StringToSign`), in order.
    pub extra: Vec<(&'static str, String)>,
    /// Headers the answer carries besides the body (e.g. the next append position).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> ApiError {
        self.extra.push((name, value.into()));
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    pub fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST)
    }

    /// `<Error>` with the given elements first, then `extra`, as XML.
    pub fn xml(&self, leading: &[(&str, &str)]) -> String {
        use quick_xml::escape::escape;
        let mut body = format!("{}\n<Error>\n", crate::xml::DECL);
        let mut push = |k: &str, v: &str| body.push_str(&format!("  <{k}>{}</{k}>\n", escape(v)));
        push("Code", self.code);
        push("Message", &self.message);
        for (k, v) in leading {
            push(k, v);
        }
        for (k, v) in &self.extra {
            push(k, v);
        }
        body.push_str("</Error>\n");
        body
    }

    pub fn internal(e: std::io::Error) -> ApiError {
        tracing::error!(error = %e, "disk");
        ApiError::new(
            500,
            "InternalError",
            "the local store could not read or write its data",
        )
    }
}

//! REST errors as Connect renders them: `{"error_code": <HTTP status>, "message": "..."}`
//! (`ErrorMessage`, `ConnectExceptionMapper`).

use crate::herder::StandaloneError;

/// A failed request: the HTTP status and Connect's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct RestError {
    /// HTTP status, also the body's `error_code`.
    pub status: u16,
    /// What went wrong, for the operator.
    pub message: String,
}

impl RestError {
    /// An error with `status` and `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 404 for a path no route serves (Jersey's wording).
    pub fn no_route() -> Self {
        Self::new(404, "HTTP 404 Not Found")
    }

    /// 405 for a path served with other methods (Jersey's wording).
    pub fn method_not_allowed() -> Self {
        Self::new(405, "HTTP 405 Method Not Allowed")
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error_code": self.status, "message": self.message})
    }
}

impl From<StandaloneError> for RestError {
    fn from(e: StandaloneError) -> Self {
        match &e {
            StandaloneError::NotFound(_) | StandaloneError::TaskNotFound(_) => Self::new(404, e.to_string()),
            StandaloneError::AlreadyExists(_) => Self::new(409, e.to_string()),
            StandaloneError::Config { errors, .. } => Self::bad_request(format!(
                "Connector configuration is invalid and contains the following {} error(s):\n{}\n\
                 You can also find the above list of errors at the endpoint \
                 `/connector-plugins/{{connectorType}}/config/validate`",
                errors.0.len(),
                errors
                    .0
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
            StandaloneError::Invalid(_) | StandaloneError::NotStopped(_) | StandaloneError::BadOffsets(_) => {
                Self::bad_request(e.to_string())
            }
            StandaloneError::Offsets(_) | StandaloneError::Kafka(_) | StandaloneError::Connector { .. } => {
                Self::new(500, e.to_string())
            }
        }
    }
}

//! Validated types at the edge (nothing unchecked from a client gets past these) and the
//! rules that are neither HTTP nor vendor: tickets, callback variables, the part plan.

mod callback_vars;
pub mod content_check;
mod content_type;
mod disposition;
mod filename;
mod key_template;
mod object_key;
pub mod part_plan;
pub mod sdk_token;
pub mod ticket;
mod upload;
mod user;

pub use callback_vars::{
    CallbackVars, ClientVars, MAX_CLIENT_VARS, MAX_VAR_NAME, MAX_VAR_VALUE, RESERVED_VARS,
    VarsError,
};
pub use content_type::{ContentType, ContentTypeError, ContentTypePattern};
pub use disposition::{Disposition, content_disposition};
pub use filename::{Filename, FilenameError, MAX_FILENAME_BYTES};
pub use key_template::{KeyTemplate, RenderContext, RenderError, TemplateError};
pub use object_key::{KeyPrefix, MAX_KEY_BYTES, ObjectKey, ObjectKeyError};
pub use upload::{
    ImageInfo, RecordTarget, UploadId, UploadIdError, UploadKind, UploadRecord, UploadStatus,
};
pub use user::{UserId, UserIdError, encode_segment};

//! Validated types at the edge: nothing unchecked from a client gets past these.

mod content_type;
mod filename;
mod key_template;
mod object_key;
mod upload;
mod user;

pub use content_type::{ContentType, ContentTypeError, ContentTypePattern};
pub use filename::{Filename, FilenameError, MAX_FILENAME_BYTES};
pub use key_template::{KeyTemplate, RenderContext, RenderError, TemplateError};
pub use object_key::{KeyPrefix, MAX_KEY_BYTES, ObjectKey, ObjectKeyError};
pub use upload::{
    ImageInfo, RecordTarget, UploadId, UploadIdError, UploadKind, UploadRecord, UploadStatus,
};
pub use user::{UserId, UserIdError, encode_segment};
